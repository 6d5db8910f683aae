// The lint rule that keeps the web tier away from worker-only modules (eslint.config.mjs), exercised through ESLint's
// own API on made-up files: a file's position alone decides whether the same import is allowed.
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint();

/** The messages of the boundary rule for `source` imported from a file at `filePath` (which need not exist). */
async function boundaryMessages(filePath: string, source: string): Promise<string[]> {
  const code = `import { thing } from "${source}";\n\nexport const used = thing;\n`;
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("the web tier's import boundary", () => {
  it.each([
    ["app/example/page.tsx", "@/lib/providers/qemu/provider"],
    ["lib/actions/example.ts", "@/lib/providers/qemu/provider"],
    ["components/example/card.tsx", "@/lib/engine/worker"],
    ["lib/api/example.ts", "@/lib/engine/runner"],
    ["lib/commands/example.ts", "@/lib/engine/steps/transfer"],
    ["lib/api/example.ts", "@/lib/engine/preflight/collect-facts"],
    ["app/example/page.tsx", "../../lib/providers/qemu/provider"],
    ["lib/actions/example.ts", "../providers/qemu/provider"],
    ["lib/actions/failback/example.ts", "../../guest/build-guest"],
  ])("flags %s importing %s, saying why", async (filePath, source) => {
    const messages = await boundaryMessages(filePath, source);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain("hypervisor work belongs to workers");
  });

  it.each([
    ["lib/engine/worker.ts", "@/lib/providers/qemu/provider"],
    ["app/example/page.tsx", "@/lib/queue/queue"],
    ["app/example/page.tsx", "@/lib/engine/transitions"],
    ["lib/actions/example.ts", "@/lib/engine/preflight/facts"],
  ])("allows %s to import %s", async (filePath, source) => {
    expect(await boundaryMessages(filePath, source)).toEqual([]);
  });
});
