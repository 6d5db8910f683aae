// A child process that runs one provider operation, so a test can SIGKILL it at any moment:
//   node --import tsx lib/providers/testing/run-operation.ts '<SpawnSpec JSON>'
// It builds the provider from the spec, prints "ready", reads one ProviderOperation (a JSON line) from stdin,
// prints "started", runs it, then prints "done" (exit 0) or "failed <JSON>" (exit 1).
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { ProviderError } from "../errors";
import type { Provider } from "../types";
import type { SpawnSpec } from "./contract-subject";
import { type ProviderOperation, runOperation } from "./operations";

const spec = JSON.parse(process.argv[2] ?? "null") as SpawnSpec | null;
if (!spec) {
  console.error("usage: node --import tsx lib/providers/testing/run-operation.ts '<SpawnSpec JSON>'");
  process.exit(2);
}
const factory = ((await import(pathToFileURL(spec.module).href)) as Record<string, unknown>)[spec.export];
if (typeof factory !== "function") throw new Error(`${spec.module} has no function export ${spec.export}`);
const provider = (await (factory as (args: unknown) => Provider | Promise<Provider>)(spec.args)) as Provider;

const lines = createInterface({ input: process.stdin });
process.stdout.write("ready\n");
const line = await new Promise<string>((resolve, reject) => {
  lines.once("line", resolve);
  lines.once("close", () => reject(new Error("stdin closed before an operation arrived")));
});
lines.close();
const operation = JSON.parse(line) as ProviderOperation;
process.stdout.write("started\n");
try {
  await runOperation(provider, operation);
  process.stdout.write("done\n");
  process.exit(0);
} catch (err) {
  const typed = err instanceof ProviderError;
  process.stdout.write(
    `failed ${JSON.stringify({ typed, kind: typed ? err.kind : undefined, message: String((err as Error)?.message ?? err) })}\n`,
  );
  process.exit(1);
}
