import type { TestProject } from "vitest/node";
import { createTestDatabase, type TestDatabase } from "./test-database";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

let database: TestDatabase | undefined;

export async function setup(project: TestProject) {
  database = await createTestDatabase("failback_vitest");
  project.provide("databaseUrl", database.url);
}

export async function teardown() {
  await database?.drop();
}
