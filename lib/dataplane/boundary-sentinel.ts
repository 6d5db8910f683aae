// A string that marks the data plane's code wherever it is bundled: the web bundle check
// (scripts/check-web-bundle.ts) searches the built web app for it, which must never move disk blocks.
export const DATAPLANE_SENTINEL = "failback-boundary-sentinel:dataplane";
