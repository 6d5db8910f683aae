// A string that marks the qemu provider's code wherever it is bundled: the web bundle check
// (scripts/check-web-bundle.ts) searches the built web app for it, which must never contain hypervisor code.
import { markWorkerOnly } from "@/lib/server/worker-only-mark";

export const QEMU_PROVIDER_SENTINEL = "failback-boundary-sentinel:qemu-provider";
markWorkerOnly(QEMU_PROVIDER_SENTINEL);
