// A disk chain on a host across SSH, as a DiskHandle: a qemu-storage-daemon on that host exports the image files
// on a unix socket there, and an `ssh -N -L` forward brings the socket here, so block traffic travels inside the
// SSH connection and nothing but sshd has to listen on the host. Names are deterministic per export (remote pid
// file and socket), so a worker that crashed and came back stops its leftover daemon before starting one again.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { NbdClient } from "@/lib/nbd";
import { ProviderError } from "../errors";
import { NbdDiskHandle, providerErrorFromNbd } from "../chain-export/disk-handle";
import { fittingSocketPath } from "../chain-export/socket-path";
import { socketAccepts, storageDaemonArgs } from "../chain-export/storage-daemon";
import type { DiskHandle } from "../types";
import { type LibvirtHost, shellQuote, sshOptions } from "./host";

/** Where exports live on the remote host (one folder per domain). */
export const REMOTE_EXPORT_DIR = "/tmp/failback-exports";
const FORWARD_START_TIMEOUT_MS = 15_000;
const REQUEST_TIMEOUT_MS = 120_000;

export interface RemoteChainRequest {
  files: string[];
  vmId: string;
  exportName: string;
  writable: boolean;
  /** The files are held by a running domain: force-share, read-only. */
  shared: boolean;
  /** Local folder for the forwarded socket. */
  runDir: string;
}

function remotePaths(vmId: string, exportName: string) {
  const base = `${REMOTE_EXPORT_DIR}/${vmId}/nbd-${exportName}`;
  return { socketPath: `${base}.sock`, pidFile: `${base}.pid`, qmpSocket: `${base}.qmp` };
}

/** Stops the daemon a crashed worker left for this export (only if the pid still runs a daemon for that file). */
export async function stopRemoteExport(host: LibvirtHost, vmId: string, exportName: string): Promise<boolean> {
  const { socketPath, pidFile, qmpSocket } = remotePaths(vmId, exportName);
  const script =
    `if [ -f ${shellQuote(pidFile)} ]; then pid=$(cat ${shellQuote(pidFile)}); ` +
    `if grep -qa -- ${shellQuote(pidFile)} /proc/$pid/cmdline 2>/dev/null; then kill $pid; ` +
    `i=0; while kill -0 $pid 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -9 $pid 2>/dev/null; echo stopped; fi; fi; ` +
    `rm -f ${shellQuote(pidFile)} ${shellQuote(socketPath)} ${shellQuote(qmpSocket)}`;
  const { stdout } = await host.run("sh", ["-c", script]);
  return stdout.includes("stopped");
}

/** Every export left on the host for a domain (releaseDiskAccess). */
export async function stopRemoteExports(host: LibvirtHost, vmId: string): Promise<number> {
  const { stdout } = await host.run("sh", [
    "-c",
    `ls ${shellQuote(`${REMOTE_EXPORT_DIR}/${vmId}`)} 2>/dev/null || true`,
  ]);
  let stopped = 0;
  for (const name of stdout.split("\n")) {
    const match = /^nbd-(.+)\.pid$/.exec(name.trim());
    if (match && (await stopRemoteExport(host, vmId, match[1] as string))) stopped++;
  }
  return stopped;
}

export async function openRemoteChain(host: LibvirtHost, request: RemoteChainRequest): Promise<DiskHandle> {
  const ssh = host.ssh;
  if (!ssh) throw new ProviderError("invalid", "a remote export needs an SSH host");
  await stopRemoteExport(host, request.vmId, request.exportName);
  const paths = remotePaths(request.vmId, request.exportName);
  const args = storageDaemonArgs(
    {
      files: request.files,
      runDir: path.dirname(paths.pidFile),
      exportName: request.exportName,
      writable: request.writable,
      shareWithRunningVm: request.shared,
    },
    paths,
  );
  await host.run("mkdir", ["-p", path.dirname(paths.pidFile)]);
  // --daemonize: the command returns once every export exists, or fails with the daemon's own message.
  await host.run("qemu-storage-daemon", [...args, "--daemonize"], { timeoutMs: 30_000 });

  fs.mkdirSync(request.runDir, { recursive: true });
  const localSocket = fittingSocketPath(path.join(request.runDir, `fwd-${request.exportName}.sock`), "fbf");
  fs.mkdirSync(path.dirname(localSocket), { recursive: true }); // a long path moves to a short folder of its own
  fs.rmSync(localSocket, { force: true });
  const forward = spawn(
    "ssh",
    [
      ...sshOptions(ssh),
      "-N",
      "-o",
      "ExitOnForwardFailure=yes",
      "-o",
      "StreamLocalBindUnlink=yes",
      "-L",
      `${localSocket}:${paths.socketPath}`,
      `${ssh.user}@${ssh.host}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  forward.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => forward.once("close", () => resolve()));
  const exported = {
    stop: async () => {
      stopForward(forward);
      await exited;
      fs.rmSync(localSocket, { force: true });
      await stopRemoteExport(host, request.vmId, request.exportName);
    },
  };
  try {
    await waitForSocket(localSocket, forward, () => stderr);
    const client = await NbdClient.connect({
      socketPath: localSocket,
      exportName: request.exportName,
      metaContexts: ["base:allocation"],
      connectTimeoutMs: 10_000,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    }).catch((err: unknown) => {
      throw providerErrorFromNbd(err, `connecting to export ${request.exportName} on ${host.label}`);
    });
    const top = request.files.at(-1);
    return new NbdDiskHandle(client, exported, `${top} on ${host.label} (export ${request.exportName})`);
  } catch (err) {
    await exported.stop();
    throw err;
  }
}

function stopForward(forward: ChildProcess): void {
  if (forward.exitCode === null && forward.signalCode === null) forward.kill("SIGTERM");
}

async function waitForSocket(socketPath: string, forward: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + FORWARD_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (forward.exitCode !== null || forward.signalCode !== null)
      throw new ProviderError("hypervisor", "the SSH forward of the disk export ended at once", stderr().trim(), true);
    if (fs.existsSync(socketPath) && (await socketAccepts(socketPath))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new ProviderError("hypervisor", "the SSH forward of the disk export did not come up", stderr().trim(), true);
}
