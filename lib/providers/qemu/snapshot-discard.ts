// Removing a snapshot and discarding its changes (revert): the top layer is dropped with every write it holds.
// A step of its own because it has its own limits: top layer only, VM off only.
import { ProviderError } from "../errors";
import type { Site } from "./site";
import { checkLayerName, dropKindIfUnused, retireLayer } from "./snapshot-layers";
import { reconcileOrThrow } from "./snapshot-reconcile";
import { isRunning } from "./vm-liveness";
import { withVmLock } from "./vm-lock";

/**
 * Drops layer `name` and its writes (working: discard the delta; protective: revert to the snapshot). Only the
 * top layer, only with the VM off ("busy" while it runs: power it off first). Gone → no-op.
 */
export async function removeSnapshotDiscardingChanges(site: Site, vmId: string, name: string): Promise<void> {
  checkLayerName(name);
  await withVmLock(site, vmId, async () => {
    await reconcileOrThrow(site, vmId);
    const config = site.readConfig(vmId);
    const disks = config.disks.filter((d) => d.layers.includes(name));
    if (disks.length === 0) return;
    for (const disk of disks) {
      const index = disk.layers.indexOf(name);
      if (index === 0)
        throw new ProviderError("invalid", `${name} is the bottom layer of ${vmId}/${disk.label}, not a snapshot`);
      if (index !== disk.layers.length - 1) {
        throw new ProviderError(
          "invalid",
          `snapshot ${name} of ${vmId}/${disk.label} has later layers above it (${disk.layers.slice(index + 1).join(", ")}): remove those first`,
        );
      }
    }
    if (isRunning(site, vmId))
      throw new ProviderError(
        "busy",
        `VM ${vmId} is running: power it off before reverting snapshot ${name}`,
        undefined,
        false,
      );
    for (const disk of disks) retireLayer(site, vmId, disk.label, name);
    dropKindIfUnused(site, vmId, name);
  });
}
