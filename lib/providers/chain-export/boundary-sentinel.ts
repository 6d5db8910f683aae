// A string that marks the chain-export code (storage daemons, NBD handles) wherever it is bundled: the web bundle
// check (scripts/check-web-bundle.ts) searches the built web app for it, which must never contain hypervisor code.
import { markWorkerOnly } from "@/lib/server/worker-only-mark";

export const CHAIN_EXPORT_SENTINEL = "failback-boundary-sentinel:chain-export";
markWorkerOnly(CHAIN_EXPORT_SENTINEL);
