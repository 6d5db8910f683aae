// A string that marks the qemu provider's code wherever it is bundled: the web bundle check
// (scripts/check-web-bundle.ts) searches the built web app for it, which must never contain hypervisor code.
export const QEMU_PROVIDER_SENTINEL = "failback-boundary-sentinel:qemu-provider";
