/**
 * Set by the product's HTTP server from the socket (or a trusted proxy); any inbound copy is overwritten there.
 * Kept apart from request-info.ts so the server can import it before Next.js has set up its runtime.
 */
export const clientIpHeader = "x-failback-client-ip";
