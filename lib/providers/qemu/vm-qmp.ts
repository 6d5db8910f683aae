// QMP sessions with a running VM. QEMU's monitor serves one client at a time, so within this process all users
// of a VM share one connection (QMP matches replies by id; events reach every waiter). It is closed when the
// last user is done, leaving the monitor free for other processes.
import { ProviderError } from "../errors";
import { QmpClient } from "./qmp";
import type { Site } from "./site";
import { isRunning } from "./vm-liveness";
import { runPaths } from "./vm-names";

interface SharedQmp {
  client: Promise<QmpClient>;
  refs: number;
}

const sharedQmp = new Map<string, SharedQmp>();

async function acquireQmp(
  socket: string,
  connectTimeoutMs: number,
): Promise<{ client: QmpClient; release: () => void }> {
  const release = (entry: SharedQmp) => () => {
    entry.refs--;
    if (entry.refs > 0) return;
    if (sharedQmp.get(socket) === entry) sharedQmp.delete(socket);
    void entry.client.then(
      (c) => c.close(),
      () => {},
    );
  };
  const existing = sharedQmp.get(socket);
  if (existing) {
    existing.refs++;
    try {
      const client = await existing.client;
      if (!client.isClosed) return { client, release: release(existing) };
    } catch (err) {
      release(existing)();
      throw err;
    }
    release(existing)(); // QEMU went away under it: connect afresh
    if (sharedQmp.get(socket) === existing) sharedQmp.delete(socket);
  }
  const entry: SharedQmp = { client: QmpClient.connect(socket, { timeoutMs: connectTimeoutMs }), refs: 1 };
  sharedQmp.set(socket, entry);
  try {
    return { client: await entry.client, release: release(entry) };
  } catch (err) {
    entry.refs--;
    if (sharedQmp.get(socket) === entry) sharedQmp.delete(socket);
    throw err;
  }
}

/** Runs `fn` with a QMP connection to the running VM (shared with other users in this process). */
export async function withQmp<T>(
  site: Site,
  vmId: string,
  fn: (qmp: QmpClient) => Promise<T>,
  options: { connectTimeoutMs?: number } = {},
): Promise<T> {
  if (!isRunning(site, vmId)) throw new ProviderError("hypervisor", `VM ${vmId} is not running`, undefined, true);
  const { client, release } = await acquireQmp(runPaths(site, vmId).qmpSocket, options.connectTimeoutMs ?? 15_000);
  try {
    return await fn(client);
  } finally {
    release();
  }
}
