// Keeps the OpenAPI document true: every route file under app/api/v1 is described with exactly the methods it
// exports, and the document describes no route that does not exist.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { openApiDocument } from "./openapi/document";

const apiRoot = path.join(process.cwd(), "app", "api", "v1");
const httpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

function routeFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return routeFiles(full);
    return entry.name === "route.ts" ? [full] : [];
  });
}

/** app/api/v1/sessions/[id]/commit/route.ts → /api/v1/sessions/{id}/commit */
function urlPathOf(file: string): string {
  const segments = path.relative(path.join(process.cwd(), "app"), path.dirname(file)).split(path.sep);
  return "/" + segments.map((s) => s.replace(/^\[(\w+)\]$/, "{$1}")).join("/");
}

let implemented: Map<string, string[]>;

beforeAll(async () => {
  process.env.DATABASE_URL = inject("databaseUrl");
  implemented = new Map();
  for (const file of routeFiles(apiRoot)) {
    const mod = (await import(/* @vite-ignore */ file)) as Record<string, unknown>;
    const methods = httpMethods.filter((m) => typeof mod[m] === "function").map((m) => m.toLowerCase());
    implemented.set(unnamed(urlPathOf(file)), methods.sort());
    // Live state, never prerendered or cached.
    expect(mod.dynamic, file).toBe("force-dynamic");
  }
});
afterAll(async () => {
  const { closeApiResources } = await import("./testing/routes");
  await closeApiResources();
});

/** A path with its parameters unnamed: the document names them by input field, route folders by [id]. */
const unnamed = (route: string) => route.replace(/\{\w+\}/g, "{}");

const documented = () =>
  new Map(
    Object.entries(openApiDocument.paths).map(([p, item]) => [
      unnamed(p),
      Object.keys(item)
        .filter((k) => (httpMethods as readonly string[]).includes(k.toUpperCase()))
        .sort(),
    ]),
  );

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 and survives a JSON round trip", () => {
    expect(openApiDocument.openapi).toBe("3.1.0");
    expect(JSON.parse(JSON.stringify(openApiDocument))).toEqual(openApiDocument);
  });

  it("describes every route file with exactly its methods", () => {
    expect(implemented.size).toBeGreaterThanOrEqual(14);
    for (const [route, methods] of implemented) expect(documented().get(route), route).toEqual(methods);
  });

  it("describes no route that does not exist", () => {
    for (const [route, methods] of documented()) expect(implemented.get(route), route).toEqual(methods);
  });

  it("refers only to schemas it defines", () => {
    const refs = [...JSON.stringify(openApiDocument).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map(
      (m) => m[1] as string,
    );
    expect(refs.length).toBeGreaterThan(0);
    for (const name of new Set(refs)) expect(Object.keys(openApiDocument.components.schemas), name).toContain(name);
  });

  it("is what GET /api/v1/openapi.json serves", async () => {
    const { GET } = await import("@/app/api/v1/openapi.json/route");
    const response = await GET();
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });
});
