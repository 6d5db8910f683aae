// A string that marks the libvirt provider's code wherever it is bundled: the web bundle check
// (scripts/check-web-bundle.ts) searches the built web app for it, which must never contain hypervisor code.
import { markWorkerOnly } from "@/lib/server/worker-only-mark";

export const LIBVIRT_PROVIDER_SENTINEL = "failback-boundary-sentinel:libvirt-provider";
markWorkerOnly(LIBVIRT_PROVIDER_SENTINEL);
