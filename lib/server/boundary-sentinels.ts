// The worker-only module families and the sentinel string each carries (defined beside its family, so that
// bundling one family never brings another's string along). Only the web bundle check imports this list: it
// runs in Node after the build and is never bundled itself.
import { DATAPLANE_SENTINEL } from "@/lib/dataplane/boundary-sentinel";
import { ENGINE_WORKER_SENTINEL } from "@/lib/engine/worker-sentinel";
import { GUEST_BUILDER_SENTINEL } from "@/lib/guest/boundary-sentinel";
import { CHAIN_EXPORT_SENTINEL } from "@/lib/providers/chain-export/boundary-sentinel";
import { LIBVIRT_PROVIDER_SENTINEL } from "@/lib/providers/libvirt/boundary-sentinel";
import { QEMU_PROVIDER_SENTINEL } from "@/lib/providers/qemu/boundary-sentinel";

export interface BoundarySentinel {
  /** The module family, as a person would name it. */
  family: string;
  sentinel: string;
}

export const boundarySentinels: readonly BoundarySentinel[] = [
  { family: "qemu provider (lib/providers/qemu)", sentinel: QEMU_PROVIDER_SENTINEL },
  { family: "libvirt provider (lib/providers/libvirt)", sentinel: LIBVIRT_PROVIDER_SENTINEL },
  { family: "disk chain exports (lib/providers/chain-export)", sentinel: CHAIN_EXPORT_SENTINEL },
  { family: "guest builder (lib/guest)", sentinel: GUEST_BUILDER_SENTINEL },
  { family: "data plane (lib/dataplane)", sentinel: DATAPLANE_SENTINEL },
  { family: "engine worker (lib/engine/worker.ts)", sentinel: ENGINE_WORKER_SENTINEL },
];
