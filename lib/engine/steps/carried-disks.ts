// The disks failback carries back: the replica's disks that production has with the same label and size
// (pre-flight tells the operator about the others).
import { requireTarget, type ItemContext } from "../context";

export async function carriedDisks(ctx: ItemContext): Promise<{ label: string; sizeBytes: number }[]> {
  const target = requireTarget(ctx);
  const production = await target.provider.getVm(target.ext);
  return ctx.replicaDisks
    .filter((d) => production.disks.some((p) => p.label === d.label && p.sizeBytes === d.sizeBytes))
    .map((d) => ({ label: d.label, sizeBytes: d.sizeBytes }));
}
