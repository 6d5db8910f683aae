// How a VM's QEMU is addressed: the names of its disk layers' block nodes and block backends inside QEMU
// (used by the command line and by every QMP operation), and the paths of its run files outside it (pidfile,
// sockets, serial log, pause marker). Pure functions of the site, vm id and layer names.
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import type { Site } from "./site";

/** QEMU node names: a letter first, then [A-Za-z0-9._-], at most 31 characters (we keep 2 for ".f"). */
const MAX_NODE_NAME = 29;

/** The QMP node name of a disk layer: "<label>-<layer>", shortened with a hash when too long. */
export function nodeName(label: string, layer: string): string {
  const plain = `${label}-${layer}`;
  if (plain.length <= MAX_NODE_NAME) return plain;
  const hash = createHash("sha256").update(layer).digest("hex").slice(0, 10);
  return `${label}-${layer.slice(0, MAX_NODE_NAME - label.length - 12)}-${hash}`;
}

/** The protocol (file) node under a layer's qcow2 node. */
export const fileNodeName = (label: string, layer: string) => `${nodeName(label, layer)}.f`;

/** The QOM path of the disk's block backend (for x-debug-query-block-graph and HMP `qemu-io -d`). */
export const diskBackendPath = (label: string) => `/machine/peripheral/${label}/virtio-backend`;

export interface RunPaths {
  runDir: string;
  pidFile: string;
  qmpSocket: string;
  serialSocket: string;
  serialLog: string;
  /** Present while a VM is paused by us (live merge pivot); tells a re-run to resume it. */
  pausedMarker: string;
}

/** sun_path holds 107 bytes; keep a margin. */
const MAX_SOCKET_PATH = 100;

export function runPaths(site: Site, vmId: string): RunPaths {
  // Absolute: QEMU -daemonize changes its working directory to "/".
  const runDir = path.resolve(site.runDir(vmId));
  // Long site paths cannot hold unix sockets: put those in a short per-VM directory under the temp dir.
  const socketDir =
    Buffer.byteLength(path.join(runDir, "serial.sock")) <= MAX_SOCKET_PATH
      ? runDir
      : path.join(os.tmpdir(), `fbq-${createHash("sha256").update(runDir).digest("hex").slice(0, 16)}`);
  return {
    runDir,
    pidFile: path.join(runDir, "qemu.pid"),
    qmpSocket: path.join(socketDir, "qmp.sock"),
    serialSocket: path.join(socketDir, "serial.sock"),
    serialLog: path.join(runDir, "serial.log"),
    pausedMarker: path.join(runDir, "paused-by-failback"),
  };
}
