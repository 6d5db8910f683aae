// Builds the tiny Linux guest that the QEMU lab VMs boot: Debian's stock kernel (vmlinuz) plus a
// ~1 MB busybox initramfs whose init loads virtio + ACPI button modules, runs busybox `acpid` so an
// ACPI power-button press (QMP `system_powerdown`) powers the guest off, and gives a root shell on
// the serial console (ttyS0). See README.md in this folder.
//
// The build downloads two .deb files with `apt-get download` (the kernel package that
// `linux-image-amd64` depends on, and `busybox-static`), unpacks them with `dpkg-deb -x`, and writes
// the cpio archive in Node (no `cpio` package needed). Results are cached in <cacheDir>/guest/.
//
// Crash safety and concurrency come from ./atomic-cache: the build happens in
// <cacheDir>/.guest-build-*/ and is moved to <cacheDir>/guest/ with one rename(2), so a half-finished
// build is never visible; a lock file (<cacheDir>/guest.lock) keeps concurrent callers (other
// processes too) from building twice, and the final rename tolerates a loser anyway.

import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { CacheLockTimeoutError, ensureCachedDir } from "./atomic-cache";
import { GUEST_BUILDER_SENTINEL } from "./boundary-sentinel";
import { buildCpio, type CpioEntry } from "./cpio";

const execFileAsync = promisify(execFile);
const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

/** Bump when the initramfs layout or init script changes: cached images with another version are rebuilt. */
export const GUEST_FORMAT_VERSION = 4;

/** Printed on the serial console once init has finished and just before the first shell starts. */
export const GUEST_READY_MARKER = "failback-guest: ready";

/** The shell prompt on the serial console. */
export const GUEST_PROMPT = "guest# ";

/**
 * Kernel modules the guest needs. Any that the kernel has built in (modules.builtin) are skipped;
 * dependencies found in the modules' own `depends=` modinfo are added and ordered automatically.
 * The ACPI ones are loaded first and acpid is started before the rest, to keep the window in which
 * a power-button press is lost as short as possible.
 */
export const GUEST_ACPI_MODULES = ["evdev", "button"] as const;
export const GUEST_OTHER_MODULES = [
  "virtio_ring",
  "virtio",
  "virtio_pci_modern_dev",
  "virtio_pci_legacy_dev",
  "virtio_pci",
  "virtio_blk",
] as const;

export const KERNEL_META_PACKAGE = "linux-image-amd64";
export const BUSYBOX_PACKAGE = "busybox-static";

export interface GuestImage {
  /** Absolute path of the kernel (bzImage), for QEMU's -kernel. */
  kernel: string;
  /** Absolute path of the gzip'd newc initramfs, for QEMU's -initrd. */
  initrd: string;
}

export interface EnsureGuestImageOptions {
  /** Progress lines (download, extract, module list...). Nothing is logged on a cache hit. */
  log?: (line: string) => void;
  /**
   * Exact kernel package to use (e.g. "linux-image-6.1.0-56-amd64"). Default: the
   * FAILBACK_GUEST_KERNEL_PACKAGE environment variable, else whatever `linux-image-amd64` depends on.
   */
  kernelPackage?: string;
}

/** What was built, stored as <cacheDir>/guest/manifest.json. */
export interface GuestManifest {
  formatVersion: number;
  kernelPackage: string;
  kernelPackageVersion: string;
  kernelRelease: string;
  busyboxPackageVersion: string;
  /** Modules packed into the initramfs, in load order. */
  modules: string[];
  /** Wanted modules that this kernel has built in (nothing to load). */
  builtinModules: string[];
  initrdSha256: string;
  builtAt: string;
}

export type GuestBuildErrorCode =
  | "UNSUPPORTED_HOST"
  | "COMMAND_NOT_FOUND"
  | "PACKAGE_NOT_FOUND"
  | "DOWNLOAD_FAILED"
  | "EXTRACT_FAILED"
  | "BAD_PACKAGE_CONTENTS"
  | "MODULE_MISSING"
  | "LOCK_TIMEOUT";

export class GuestBuildError extends Error {
  override readonly name = "GuestBuildError";
  /**
   * Every build path can throw this class, so it stays wherever this module is bundled; a static keeps the
   * sentinel (see ./boundary-sentinel) off the error objects themselves, which are logged and reported.
   */
  static readonly boundarySentinel = GUEST_BUILDER_SENTINEL;
  constructor(
    readonly code: GuestBuildErrorCode,
    message: string,
    readonly details: { command?: string; packageName?: string; stderr?: string } = {},
  ) {
    super(message);
  }
}

const GUEST_DIR = "guest";
const KERNEL_FILE = "vmlinuz";
const INITRD_FILE = "initrd.gz";
const MANIFEST_FILE = "manifest.json";

/**
 * Returns the guest kernel + initramfs under <cacheDir>/guest/, building them first if they are
 * missing or were built by an older version of this code. A cache hit does no network or
 * subprocess work.
 */
export async function ensureGuestImage(cacheDir: string, opts: EnsureGuestImageOptions = {}): Promise<GuestImage> {
  const log = opts.log ?? (() => {});
  let started = 0;
  const image = await ensureCachedDir({
    root: cacheDir,
    name: GUEST_DIR,
    read: readCachedImage,
    build: async (staging) => {
      started = Date.now();
      await buildInto(staging, opts, log);
    },
    log,
  }).catch((err: unknown) => {
    if (err instanceof CacheLockTimeoutError) throw new GuestBuildError("LOCK_TIMEOUT", err.message);
    throw err;
  });
  if (started)
    log(`guest image ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${path.dirname(image.kernel)}`);
  return image;
}

/** Reads the manifest of a previously built image; null when absent, incomplete or outdated. */
export async function readGuestManifest(cacheDir: string): Promise<GuestManifest | null> {
  return readManifest(path.join(path.resolve(cacheDir), GUEST_DIR));
}

// ---------------------------------------------------------------------------------------------
// Cache

async function readManifest(dir: string): Promise<GuestManifest | null> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, MANIFEST_FILE), "utf8");
  } catch {
    return null;
  }
  try {
    const parsed = JSON.parse(text) as Partial<GuestManifest>;
    return parsed.formatVersion === GUEST_FORMAT_VERSION ? (parsed as GuestManifest) : null;
  } catch {
    return null;
  }
}

async function readCachedImage(dir: string): Promise<GuestImage | null> {
  const manifest = await readManifest(dir);
  if (!manifest) return null;
  const image = imagePaths(dir);
  try {
    const [k, i] = await Promise.all([fs.stat(image.kernel), fs.stat(image.initrd)]);
    if (!k.isFile() || !i.isFile() || k.size === 0 || i.size === 0) return null;
  } catch {
    return null;
  }
  return image;
}

function imagePaths(dir: string): GuestImage {
  return { kernel: path.join(dir, KERNEL_FILE), initrd: path.join(dir, INITRD_FILE) };
}

// ---------------------------------------------------------------------------------------------
// Build

async function buildInto(staging: string, opts: EnsureGuestImageOptions, log: (line: string) => void) {
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new GuestBuildError(
      "UNSUPPORTED_HOST",
      `building the guest needs an x86_64 Debian/Ubuntu host (this is ${process.platform}/${process.arch})`,
    );
  }
  const work = path.join(staging, "work");
  await fs.mkdir(work);

  const requested = opts.kernelPackage ?? process.env.FAILBACK_GUEST_KERNEL_PACKAGE;
  const kernelPackage = await downloadPackages(work, requested, log);

  const kernelDeb = await findDeb(work, kernelPackage);
  const busyboxDeb = await findDeb(work, BUSYBOX_PACKAGE);
  const kernelPackageVersion = await debVersion(kernelDeb);
  const busyboxPackageVersion = await debVersion(busyboxDeb);

  const kernelRoot = path.join(work, "kernel");
  const busyboxRoot = path.join(work, "busybox");
  log(`extracting ${path.basename(kernelDeb)} and ${path.basename(busyboxDeb)}`);
  await Promise.all([extractDeb(kernelDeb, kernelRoot), extractDeb(busyboxDeb, busyboxRoot)]);

  const busybox = await fs.readFile(path.join(busyboxRoot, "bin", "busybox")).catch(() => {
    throw new GuestBuildError(
      "BAD_PACKAGE_CONTENTS",
      `${BUSYBOX_PACKAGE} (${path.basename(busyboxDeb)}) has no /bin/busybox`,
      { packageName: BUSYBOX_PACKAGE },
    );
  });

  const { vmlinuz, release, modulesDir } = await locateKernel(kernelRoot, kernelPackage);
  const builtin = await readBuiltinModules(modulesDir);
  const available = await indexModules(path.join(modulesDir, "kernel"));
  const xzFallback = path.join(busyboxRoot, "bin", "busybox");
  const { ordered, builtinModules, groupEnds } = await resolveModules(
    [GUEST_ACPI_MODULES, GUEST_OTHER_MODULES],
    builtin,
    available,
    release,
    xzFallback,
  );
  const acpiModuleCount = groupEnds[0] ?? 0;
  log(
    `kernel ${release}: loading ${ordered.map((m) => m.name).join(", ") || "(none)"}` +
      (builtinModules.length ? `; built in: ${builtinModules.join(", ")}` : ""),
  );

  const entries = initramfsEntries({
    busybox,
    modules: ordered,
    acpiModuleCount,
    release,
    kernelPackage,
    kernelPackageVersion,
    busyboxPackageVersion,
  });
  const initrd = await gzipAsync(buildCpio(entries), { level: 9 });
  log(`initramfs: ${(initrd.length / 1024).toFixed(0)} KiB (gzip'd newc cpio)`);

  await writeFileSynced(path.join(staging, INITRD_FILE), initrd);
  await writeFileSynced(path.join(staging, KERNEL_FILE), await fs.readFile(vmlinuz));
  await fs.rm(work, { recursive: true, force: true });

  const manifest: GuestManifest = {
    formatVersion: GUEST_FORMAT_VERSION,
    kernelPackage,
    kernelPackageVersion,
    kernelRelease: release,
    busyboxPackageVersion,
    modules: ordered.map((m) => m.name),
    builtinModules,
    initrdSha256: crypto.createHash("sha256").update(initrd).digest("hex"),
    builtAt: new Date().toISOString(),
  };
  // The manifest is written last: its presence marks a complete image.
  await writeFileSynced(path.join(staging, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
}

// ---- apt / dpkg

/** Downloads the kernel package and busybox-static into `dir`; returns the kernel package name. */
async function downloadPackages(dir: string, requested: string | undefined, log: (line: string) => void) {
  let updated = false;
  for (;;) {
    try {
      const kernelPackage = requested ?? (await resolveKernelPackage());
      log(`downloading ${kernelPackage} and ${BUSYBOX_PACKAGE} with apt-get download`);
      await aptDownload(dir, [kernelPackage, BUSYBOX_PACKAGE]);
      return kernelPackage;
    } catch (err) {
      // Package lists missing (fresh machine / container) or stale (old kernel ABI removed from
      // the mirror): refresh them once if we can, then retry.
      const retryable =
        err instanceof GuestBuildError && (err.code === "PACKAGE_NOT_FOUND" || err.code === "DOWNLOAD_FAILED");
      if (retryable && updated) {
        throw new GuestBuildError(
          err.code,
          `${err.message}\n(already retried once after \`apt-get update\`)`,
          err.details,
        );
      }
      if (!retryable || process.getuid?.() !== 0) throw err;
      log(`${err.message.split("\n")[0]} — running apt-get update and retrying`);
      await run("apt-get", ["update"], {}).catch((e: unknown) => {
        throw new GuestBuildError(
          "DOWNLOAD_FAILED",
          `apt-get update failed (needed to find ${KERNEL_META_PACKAGE} / ${BUSYBOX_PACKAGE}):\n${stderrOf(e)}`,
          { command: "apt-get update", stderr: stderrOf(e) },
        );
      });
      updated = true;
    }
  }
}

async function resolveKernelPackage(): Promise<string> {
  const command = `apt-cache depends ${KERNEL_META_PACKAGE}`;
  let out = "";
  try {
    out = (await run("apt-cache", ["depends", KERNEL_META_PACKAGE], {})).stdout;
  } catch (err) {
    if (err instanceof GuestBuildError) throw err;
    // fall through to the search below
  }
  for (const line of out.split("\n")) {
    const m = /^\s*\|?Depends:\s*(linux-image-\d\S*)\s*$/.exec(line);
    if (m?.[1]) return m[1];
  }
  // Fallback: the newest plain "linux-image-X.Y.Z-N-amd64" package apt knows about.
  let search = "";
  try {
    search = (await run("apt-cache", ["search", "--names-only", "^linux-image-[0-9].*-amd64$"], {})).stdout;
  } catch {
    // reported below
  }
  const candidates = search
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .map((name) => ({ name, m: /^linux-image-(\d+)\.(\d+)\.(\d+)-(\d+)-amd64$/.exec(name) }))
    .filter((c) => c.m !== null)
    .map((c) => ({ name: c.name, key: (c.m ?? []).slice(1).map(Number) }))
    .sort((a, b) => compareVersionKeys(b.key, a.key));
  const best = candidates[0];
  if (best) return best.name;
  throw new GuestBuildError(
    "PACKAGE_NOT_FOUND",
    `could not find the Debian kernel package: \`${command}\` listed no linux-image-* dependency and ` +
      `\`apt-cache search\` found none either. Run \`apt-get update\` (as root) and check that ` +
      `/etc/apt/sources.list(.d) has a Debian "main" repository.`,
    { command, packageName: KERNEL_META_PACKAGE },
  );
}

function compareVersionKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

async function aptDownload(dir: string, packages: string[]): Promise<void> {
  // As root, apt drops privileges to `_apt`, which cannot write into our private temp dir: tell it not to.
  const sandbox = process.getuid?.() === 0 ? ["-o", "APT::Sandbox::User=root"] : [];
  const args = ["download", "-q", ...sandbox, ...packages];
  const command = `apt-get ${args.join(" ")}`;
  try {
    await run("apt-get", args, { cwd: dir });
  } catch (err) {
    if (err instanceof GuestBuildError) throw err;
    const stderr = stderrOf(err);
    const missing = packages.find((p) => stderr.includes(`Unable to locate package ${p}`) || stderr.includes(`'${p}'`));
    if (missing) {
      throw new GuestBuildError(
        "PACKAGE_NOT_FOUND",
        `apt cannot find package ${missing} (\`${command}\` in ${dir}). Run \`apt-get update\` as root; ` +
          `if it still fails, check /etc/apt/sources.list(.d).\n${stderr.trim()}`,
        { command, packageName: missing, stderr },
      );
    }
    throw new GuestBuildError(
      "DOWNLOAD_FAILED",
      `downloading ${packages.join(" and ")} failed (\`${command}\` in ${dir}); check network access to the ` +
        `Debian mirror or run \`apt-get update\`.\n${stderr.trim()}`,
      { command, packageName: packages.join(" "), stderr },
    );
  }
}

async function findDeb(dir: string, pkg: string): Promise<string> {
  const names = await fs.readdir(dir);
  const deb = names.find((n) => n.startsWith(`${pkg}_`) && n.endsWith(".deb"));
  if (!deb) {
    throw new GuestBuildError(
      "DOWNLOAD_FAILED",
      `apt-get download reported success but no ${pkg}_*.deb is in ${dir} (found: ${names.join(", ") || "nothing"})`,
      { command: `apt-get download ${pkg}`, packageName: pkg },
    );
  }
  return path.join(dir, deb);
}

async function debVersion(deb: string): Promise<string> {
  return (await run("dpkg-deb", ["-f", deb, "Version"], {})).stdout.trim();
}

async function extractDeb(deb: string, dest: string): Promise<void> {
  try {
    await run("dpkg-deb", ["-x", deb, dest], {});
  } catch (err) {
    if (err instanceof GuestBuildError) throw err;
    throw new GuestBuildError("EXTRACT_FAILED", `\`dpkg-deb -x ${deb} ${dest}\` failed:\n${stderrOf(err)}`, {
      command: `dpkg-deb -x ${deb} ${dest}`,
      packageName: path.basename(deb).split("_")[0],
      stderr: stderrOf(err),
    });
  }
}

// ---- kernel + modules

async function locateKernel(kernelRoot: string, kernelPackage: string) {
  const boot = await fs.readdir(path.join(kernelRoot, "boot")).catch(() => [] as string[]);
  const image = boot.find((n) => n.startsWith("vmlinuz-"));
  if (!image) {
    throw new GuestBuildError("BAD_PACKAGE_CONTENTS", `${kernelPackage} contains no /boot/vmlinuz-*`, {
      packageName: kernelPackage,
    });
  }
  const release = image.slice("vmlinuz-".length);
  for (const base of ["lib/modules", "usr/lib/modules"]) {
    const modulesDir = path.join(kernelRoot, base, release);
    if (await exists(modulesDir)) return { vmlinuz: path.join(kernelRoot, "boot", image), release, modulesDir };
  }
  throw new GuestBuildError("BAD_PACKAGE_CONTENTS", `${kernelPackage} contains no lib/modules/${release}/`, {
    packageName: kernelPackage,
  });
}

function moduleNameOf(file: string): string | null {
  const m = /^(.+)\.ko(\.xz|\.zst|\.gz)?$/.exec(path.basename(file));
  return m?.[1] ? m[1].replace(/-/g, "_") : null;
}

async function readBuiltinModules(modulesDir: string): Promise<Set<string>> {
  const text = await fs.readFile(path.join(modulesDir, "modules.builtin"), "utf8").catch(() => "");
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const name = line.trim() ? moduleNameOf(line.trim()) : null;
    if (name) names.add(name);
  }
  return names;
}

async function indexModules(dir: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const entry of await fs.readdir(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else {
        const name = moduleNameOf(entry.name);
        if (name && !index.has(name)) index.set(name, full);
      }
    }
  };
  await walk(dir);
  return index;
}

interface PackedModule {
  name: string;
  data: Buffer;
}

/** Resolves groups of wanted modules (in order); groupEnds[i] = number of modules to load through group i. */
async function resolveModules(
  groups: readonly (readonly string[])[],
  builtin: Set<string>,
  available: Map<string, string>,
  release: string,
  busyboxForXz: string,
): Promise<{ ordered: PackedModule[]; builtinModules: string[]; groupEnds: number[] }> {
  const ordered: PackedModule[] = [];
  const builtinModules: string[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();

  const visit = async (name: string, neededBy: string | null): Promise<void> => {
    if (done.has(name)) return;
    if (builtin.has(name)) {
      done.add(name);
      builtinModules.push(name);
      return;
    }
    if (visiting.has(name)) throw new Error(`module dependency cycle at ${name}`);
    const file = available.get(name);
    if (!file) {
      throw new GuestBuildError(
        "MODULE_MISSING",
        `kernel ${release} has no module ${name}${neededBy ? ` (needed by ${neededBy})` : ""} and does not ` +
          `list it in modules.builtin`,
      );
    }
    visiting.add(name);
    const data = await readModule(file, busyboxForXz);
    const vermagic = modinfoField(data, "vermagic");
    if (vermagic !== undefined && !vermagic.startsWith(`${release} `)) {
      throw new GuestBuildError("BAD_PACKAGE_CONTENTS", `module ${name} is for kernel "${vermagic}", not ${release}`);
    }
    const depends = (modinfoField(data, "depends") ?? "").split(",").filter(Boolean);
    for (const dep of depends) await visit(dep.replace(/-/g, "_"), name);
    visiting.delete(name);
    done.add(name);
    ordered.push({ name, data });
  };

  const groupEnds: number[] = [];
  for (const group of groups) {
    for (const name of group) await visit(name, null);
    groupEnds.push(ordered.length);
  }
  return { ordered, builtinModules, groupEnds };
}

/** Reads a module, decompressing .ko.xz / .ko.zst / .ko.gz (busybox insmod wants a plain ELF). */
async function readModule(file: string, busyboxForXz: string): Promise<Buffer> {
  if (file.endsWith(".ko")) return fs.readFile(file);
  if (file.endsWith(".gz")) return gunzipAsync(await fs.readFile(file));
  if (file.endsWith(".xz")) {
    try {
      return await runBuffer("xz", ["-dc", file]);
    } catch (err) {
      if (!(err instanceof GuestBuildError && err.code === "COMMAND_NOT_FOUND")) throw err;
      return runBuffer(busyboxForXz, ["xzcat", file]); // the static busybox we just unpacked runs on the host
    }
  }
  return runBuffer("zstd", ["-dc", "-q", file]);
}

/** A `key=value` string from a module's .modinfo section. */
function modinfoField(ko: Buffer, key: string): string | undefined {
  const needle = Buffer.from(`\0${key}=`, "latin1");
  const at = ko.indexOf(needle);
  if (at < 0) return undefined;
  const start = at + needle.length;
  const end = ko.indexOf(0, start);
  return ko.subarray(start, end < 0 ? undefined : end).toString("utf8");
}

// ---- initramfs

function initramfsEntries(input: {
  busybox: Buffer;
  modules: PackedModule[];
  /** The first this many modules are loaded before acpid starts. */
  acpiModuleCount: number;
  release: string;
  kernelPackage: string;
  kernelPackageVersion: string;
  busyboxPackageVersion: string;
}): CpioEntry[] {
  const dirs = [
    "bin",
    "sbin",
    "usr",
    "usr/bin",
    "usr/sbin",
    "dev",
    "proc",
    "sys",
    "run",
    "mnt",
    "root",
    "var",
    "var/log",
    "var/run",
    "etc",
    "etc/acpi",
    "etc/acpi/PWRF",
    "lib",
    "lib/modules",
  ];
  return [
    ...dirs.map((d): CpioEntry => ({ type: "dir", path: d })),
    { type: "dir", path: "tmp", mode: 0o1777 },
    { type: "chardev", path: "dev/console", major: 5, minor: 1, mode: 0o600 },
    { type: "chardev", path: "dev/null", major: 1, minor: 3, mode: 0o666 },
    { type: "file", path: "bin/busybox", data: input.busybox, mode: 0o755 },
    { type: "symlink", path: "bin/sh", target: "busybox" },
    ...input.modules.map((m): CpioEntry => ({ type: "file", path: `lib/modules/${m.name}.ko`, data: m.data })),
    {
      type: "file",
      path: "init",
      data: initScript(
        input.modules.map((m) => m.name),
        input.acpiModuleCount,
      ),
      mode: 0o755,
    },
    // busybox acpid maps the power button (EV_KEY KEY_POWER) to "PWRF/00000080" and runs
    // <conf dir>/PWRF/00000080 — directly if it is a file, via run-parts if it is a directory.
    { type: "file", path: "etc/acpi/PWRF/00000080", data: POWER_BUTTON_ACTION, mode: 0o755 },
    { type: "file", path: "etc/profile", data: PROFILE },
    { type: "file", path: "etc/hostname", data: "failback-guest\n" },
    { type: "file", path: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\n" },
    { type: "file", path: "etc/group", data: "root:x:0:\n" },
    {
      type: "file",
      path: "etc/guest-release",
      data:
        `FAILBACK_GUEST_FORMAT=${GUEST_FORMAT_VERSION}\nKERNEL_RELEASE=${input.release}\n` +
        `KERNEL_PACKAGE=${input.kernelPackage}=${input.kernelPackageVersion}\n` +
        `BUSYBOX_PACKAGE=${BUSYBOX_PACKAGE}=${input.busyboxPackageVersion}\n`,
    },
  ];
}

/** Printed on the console by the power-button action just before `poweroff -f`. */
export const GUEST_POWEROFF_MESSAGE = "failback-guest: power button pressed, powering off";

const POWER_BUTTON_ACTION = `#!/bin/sh
# Run by busybox acpid on an ACPI power-button press (QMP system_powerdown).
# Tell the console, but never let console output hold up the poweroff: give the message at most 1 s.
/bin/busybox timeout 1 /bin/busybox sh -c 'echo "${GUEST_POWEROFF_MESSAGE}" >/dev/console'
/bin/busybox sync
exec /bin/busybox poweroff -f
`;

const PROFILE = `export PATH=/sbin:/usr/sbin:/bin:/usr/bin
export HOME=/root
export PS1='${GUEST_PROMPT}'
`;

function insmodLines(modules: string[]): string {
  if (modules.length === 0) return "";
  return `for m in ${modules.join(" ")}; do
  insmod /lib/modules/$m.ko || echo "failback-guest: insmod $m failed"
done
`;
}

function initScript(modules: string[], acpiModuleCount: number): string {
  return `#!/bin/sh
# failback lab guest: PID 1. Generated by lib/guest/build-guest.ts (format ${GUEST_FORMAT_VERSION}).
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
hostname -F /etc/hostname
# Keep kernel chatter (but not panics) off the serial shell.
dmesg -n 1

# 1. Power button first: a press before acpid listens is lost.
${insmodLines(modules.slice(0, acpiModuleCount))}
# acpid only watches the /dev/input/event* nodes present when it starts: wait for the power button's.
i=0
while [ $i -lt 100 ]; do
  ev=""
  for n in /sys/class/input/input*/name; do
    [ "$(cat "$n" 2>/dev/null)" = "Power Button" ] || continue
    for e in "\${n%/name}"/event*; do [ -e "$e" ] && ev="\${e##*/}"; done
  done
  [ -n "$ev" ] && [ -e "/dev/input/$ev" ] && break
  sleep 0.05
  i=$((i + 1))
done
[ -n "$ev" ] || echo "failback-guest: no ACPI power button found; system_powerdown will not work"
acpid -c /etc/acpi -l /var/log/acpid.log || echo "failback-guest: acpid failed to start"

# 2. Everything else (virtio disk).
${insmodLines(modules.slice(acpiModuleCount))}
# acpid writes its pid file once it has opened the event devices.
i=0
while [ ! -e /var/run/acpid.pid ] && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
# A press after button.ko enabled the event but before acpid listened went unheard; the ACPI fixed
# event counter still saw it. (Presses before button.ko loads are dropped by QEMU itself: the host
# must repeat system_powerdown until the VM exits.)
set -- $(cat /sys/firmware/acpi/interrupts/ff_pwr_btn 2>/dev/null)
if [ "\${1:-0}" -gt 0 ] 2>/dev/null; then /etc/acpi/PWRF/00000080; fi

echo "${GUEST_READY_MARKER}"
while true; do
  setsid cttyhack sh -l
  echo "failback-guest: shell exited, starting a new one"
  sleep 1
done
`;
}

// ---------------------------------------------------------------------------------------------
// Helpers

async function run(cmd: string, args: string[], opts: { cwd?: string }): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, LC_ALL: "C", DEBIAN_FRONTEND: "noninteractive" },
      maxBuffer: 64 * 1024 * 1024,
      encoding: "utf8",
    });
    return { stdout, stderr };
  } catch (err) {
    if (isErrno(err, "ENOENT") && typeof (err as { path?: unknown }).path === "string") throw commandNotFound(cmd);
    throw err;
  }
}

async function runBuffer(cmd: string, args: string[]): Promise<Buffer> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { maxBuffer: 256 * 1024 * 1024, encoding: "buffer" });
    return stdout;
  } catch (err) {
    if (isErrno(err, "ENOENT") && typeof (err as { path?: unknown }).path === "string") throw commandNotFound(cmd);
    throw err;
  }
}

function commandNotFound(cmd: string): GuestBuildError {
  const pkg: Record<string, string> = {
    "apt-get": "apt",
    "apt-cache": "apt",
    "dpkg-deb": "dpkg",
    xz: "xz-utils",
    zstd: "zstd",
  };
  return new GuestBuildError(
    "COMMAND_NOT_FOUND",
    `\`${cmd}\` is not installed: building the guest needs a Debian/Ubuntu host` +
      (pkg[cmd] ? ` (package ${pkg[cmd]})` : ""),
    { command: cmd, packageName: pkg[cmd] },
  );
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  const stderr = typeof e.stderr === "string" ? e.stderr : Buffer.isBuffer(e.stderr) ? e.stderr.toString() : "";
  return (stderr || (typeof e.message === "string" ? e.message : String(err))).trim();
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && codes.includes(code);
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

async function writeFileSynced(file: string, data: Buffer | string): Promise<void> {
  const handle = await fs.open(file, "w", 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
