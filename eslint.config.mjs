import { defineConfig, globalIgnores } from "eslint/config";
import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

// Worker-only modules, as paths under lib/ (gitignore-style globs, as no-restricted-imports matches them): the
// hypervisor side, which only workers (lib/engine's worker, runner and steps) may load. lib/queue is shared.
const workerOnly = [
  "providers/**",
  "guest/**",
  "dataplane/**",
  "nbd/**",
  "engine/runner*",
  "engine/run-*",
  "engine/worker*",
  "engine/steps/**",
  "engine/context",
  "engine/providers",
  "engine/estimate",
  "engine/changed-regions",
  "engine/preflight/collect-facts",
  "worker-requests/serve",
  "replication/**",
  "lab/**",
  "bench/**",
];

/**
 * The web tier may not import worker-only modules, through the @/ alias or relatively: from app/ and components/
 * a relative path must pass through lib/; from a folder in lib/ it climbs one or two levels to a sibling.
 */
function webTierBoundary(files, relativePrefixes) {
  const group = workerOnly.flatMap((module) => ["@/lib/", ...relativePrefixes].map((prefix) => prefix + module));
  return {
    files,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group,
              message:
                "The web tier records intent and reads rows; hypervisor work belongs to workers (see README, layout).",
            },
          ],
        },
      ],
    },
  };
}

export default defineConfig([
  ...nextVitals,
  ...nextTs,
  globalIgnores([
    ".next/**",
    "node_modules/**",
    ".data/**",
    "test-results/**",
    "playwright-report/**",
    "next-env.d.ts",
  ]),
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  webTierBoundary(["app/**", "components/**"], ["../**/lib/"]),
  webTierBoundary(["lib/actions/**", "lib/api/**", "lib/commands/**"], ["../", "../../"]),
]);
