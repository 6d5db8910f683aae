// The API's OpenAPI 3.1 description: the read routes written by hand, the commands read off the catalogue.
// lib/api/openapi.test.ts keeps it true: every route file under app/api/v1 appears here with exactly its
// methods, and nothing else does.
import { commandPaths } from "./command-paths";
import { readPaths } from "./read-paths";
import { schemas } from "./schemas";
import type { Json } from "./building-blocks";

function mergePaths(...sources: Record<string, Json>[]): Record<string, Json> {
  const merged: Record<string, Json> = {};
  for (const source of sources) {
    for (const [path, methods] of Object.entries(source)) merged[path] = { ...merged[path], ...methods };
  }
  return merged;
}

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Failback API",
    version: "1.0.0",
    description:
      "Start and steer failbacks from scripts. Authenticate with `Authorization: Bearer fbk_…` (create a token on your profile page); " +
      "a token acts with its user's current role. Errors are `{error: {code, message, fieldErrors?}}`.",
  },
  servers: [{ url: "/" }],
  security: [{ bearerToken: [] }, { signInCookie: [] }],
  paths: mergePaths(readPaths, commandPaths()),
  components: {
    securitySchemes: {
      bearerToken: { type: "http", scheme: "bearer", description: "An API token, fbk_…" },
      signInCookie: {
        type: "apiKey",
        in: "cookie",
        name: "authjs.session-token",
        description: "The dashboard's sign-in; writes must come from the same origin.",
      },
    },
    schemas,
  },
};
