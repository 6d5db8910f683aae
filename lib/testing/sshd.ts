// A real OpenSSH server for tests, on 127.0.0.1 and a free port, letting in root with a key made for it: the tests
// reach "remote" libvirt hosts (qemu+ssh://) and run commands over ssh exactly as the product does in the field.
// Everything it uses lives in a temp dir named failback-test-sshd-…, which is on sshd's command line: .ci/run
// finds a server a killed test left behind by it.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./free-port";
import { SSHD_BINARY } from "./libvirt";

export interface TestSshd {
  host: "127.0.0.1";
  port: number;
  user: "root";
  /** The client's private key; its public half is the only authorized key. */
  keyFile: string;
  /** libvirt's URI for this host's system daemon, through this server. */
  uri: string;
  /** ssh's options for this server; nothing prompts (BatchMode) or remembers its host key. */
  sshArgs: string[];
  /** Stops the server and removes its temp dir. */
  stop(): Promise<void>;
}

export async function startTestSshd(): Promise<TestSshd> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "failback-test-sshd-"));
  try {
    await fs.promises.chmod(dir, 0o700);
    const keyFile = path.join(dir, "id_ed25519");
    await Promise.all([keygen(path.join(dir, "host_ed25519")), keygen(keyFile)]);
    const authorizedKeys = path.join(dir, "authorized_keys");
    await fs.promises.copyFile(`${keyFile}.pub`, authorizedKeys);
    await fs.promises.chmod(authorizedKeys, 0o600);
    // sshd refuses to start without its privilege separation dir, which only its packaged service creates.
    await fs.promises.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
    // freePort leaves a small race: should another process take the port first, try another one.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const server = await tryStart(dir, port, keyFile);
      if (server) return server;
      if (attempt === 3) throw new Error(`the test sshd did not start:\n${readLog(dir)}`);
    }
  } catch (err) {
    await fs.promises.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function keygen(file: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "failback-test", "-f", file], (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

function sshdConfig(dir: string, port: number): string {
  return [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${dir}/host_ed25519`,
    `AuthorizedKeysFile ${dir}/authorized_keys`,
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password",
    "UsePAM no",
    `PidFile ${dir}/sshd.pid`,
    // The temp dir and its keys belong to the test, not to a login user whose home sshd would check.
    "StrictModes no",
    "Subsystem sftp internal-sftp",
    // libvirt's remote transports and the product's tunnels forward TCP ports and Unix sockets.
    "AllowTcpForwarding yes",
    "AllowStreamLocalForwarding yes",
    "StreamLocalBindUnlink yes",
    "",
  ].join("\n");
}

// Starts sshd on the port and waits until a login through it works; undefined when sshd quit (port taken).
async function tryStart(dir: string, port: number, keyFile: string): Promise<TestSshd | undefined> {
  const config = path.join(dir, "sshd_config");
  await fs.promises.writeFile(config, sshdConfig(dir, port), { mode: 0o600 });
  // sshd logs to a file (-e sends it to stderr): no pipe to drain, and its last words explain a failure.
  const log = fs.openSync(path.join(dir, "sshd.log"), "a");
  // setpriv --pdeathsig: the kernel ends sshd when the test process dies without calling stop().
  const child = spawn("setpriv", ["--pdeathsig", "TERM", "--", SSHD_BINARY, "-D", "-e", "-f", config], {
    stdio: ["ignore", log, log],
  });
  fs.closeSync(log);
  let spawnError: Error | undefined;
  child.once("error", (err) => (spawnError = err));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const sshArgs = [
    ...["-i", keyFile, "-p", String(port)],
    ...["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10"],
    ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"],
  ];
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    if (spawnError) throw spawnError;
    if (child.exitCode !== null || child.signalCode !== null) return undefined;
    if (await loginWorks(sshArgs)) {
      const keyParam = encodeURIComponent(keyFile).replaceAll("%2F", "/");
      return {
        host: "127.0.0.1",
        port,
        user: "root",
        keyFile,
        // no_tty=1: libvirt's ssh runs in batch mode too, so a refused key fails instead of asking for a password.
        uri: `qemu+ssh://root@127.0.0.1:${port}/system?keyfile=${keyParam}&no_verify=1&no_tty=1`,
        sshArgs,
        stop: onceOnly(() => stopServer(child, exited, dir)),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stopServer(child, exited, dir, false);
  throw new Error(`the test sshd on port ${port} let no one in within 20 s:\n${readLog(dir)}`);
}

function loginWorks(sshArgs: string[]): Promise<boolean> {
  return new Promise((resolve) =>
    execFile("ssh", [...sshArgs, "root@127.0.0.1", "true"], { timeout: 10_000 }, (err) => resolve(!err)),
  );
}

async function stopServer(child: ChildProcess, exited: Promise<void>, dir: string, removeDir = true) {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
  }
  if (removeDir) await fs.promises.rm(dir, { recursive: true, force: true });
}

function readLog(dir: string): string {
  try {
    return fs.readFileSync(path.join(dir, "sshd.log"), "utf8").trim().split("\n").slice(-20).join("\n");
  } catch {
    return "(no sshd log)";
  }
}

function onceOnly(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
