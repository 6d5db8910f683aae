// The failure summary of `npm test` on real reports: vitest and Playwright each run one passing and one failing
// test in a folder of their own, and the summary must name the failing one with its error, and only it.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatFailure, playwrightFailures, readJson, tailOf, vitestFailures } from "./test-failures";

// A folder of its own, with the project's node_modules linked in so that its files find vitest and Playwright.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-failures-"));
fs.symlinkSync(path.resolve("node_modules"), path.join(dir, "node_modules"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const bin = (name: string) => path.resolve("node_modules/.bin", name);

function write(name: string, text: string) {
  fs.writeFileSync(path.join(dir, name), text);
}

describe("the failure summary", () => {
  it("names the failed vitest test and the start of its error", () => {
    write("vitest.config.mjs", `export default { test: { include: ["sample.test.mjs"] } };\n`);
    write(
      "sample.test.mjs",
      `import { expect, it } from "vitest";\nit("adds", () => expect(1 + 1).toBe(2));\nit("multiplies", () => expect(2 * 3).toBe(7));\n`,
    );
    const report = path.join(dir, "vitest.json");
    spawnSync(
      bin("vitest"),
      [
        "run",
        "--root",
        dir,
        "--config",
        path.join(dir, "vitest.config.mjs"),
        "--reporter=json",
        `--outputFile.json=${report}`,
      ],
      { cwd: dir, encoding: "utf8" },
    );
    const failures = vitestFailures(readJson(report));
    expect(failures.map((f) => f.title)).toEqual([expect.stringMatching(/sample\.test\.mjs › multiplies$/)]);
    const text = formatFailure(failures[0]!);
    expect(text).toMatch(/^ {2}✘ .*multiplies\n/);
    expect(text).toMatch(/expected 6 to be 7/);
    expect(text).not.toMatch(/\u001b\[/);
  });

  it("names the failed Playwright test and the start of its error", () => {
    const report = path.join(dir, "playwright.json");
    write(
      "playwright.config.mjs",
      `export default { testDir: ${JSON.stringify(dir)}, testMatch: "**/sample.spec.mjs", outputDir: ${JSON.stringify(path.join(dir, "results"))}, reporter: [["json", { outputFile: ${JSON.stringify(report)} }]] };\n`,
    );
    write(
      "sample.spec.mjs",
      `import { expect, test } from "@playwright/test";\ntest("greets", () => expect("hi").toBe("hi"));\ntest("counts", () => expect([1, 2]).toHaveLength(3));\n`,
    );
    spawnSync(bin("playwright"), ["test", "--config", path.join(dir, "playwright.config.mjs")], {
      cwd: dir,
      encoding: "utf8",
    });
    const failures = playwrightFailures(readJson(report));
    expect(failures.map((f) => f.title)).toEqual([expect.stringMatching(/sample\.spec\.mjs:3 › counts$/)]);
    expect(formatFailure(failures[0]!)).toMatch(/toHaveLength/);
  });

  it("reads nothing from absent reports and shows a log's last lines", () => {
    expect(readJson(path.join(dir, "absent.json"))).toBeUndefined();
    expect(vitestFailures(readJson(path.join(dir, "absent.json")))).toEqual([]);
    expect(playwrightFailures(readJson(path.join(dir, "absent.json")))).toEqual([]);
    write("server.log", "one\ntwo\n\u001b[31mthree\u001b[39m\n");
    expect(tailOf(path.join(dir, "server.log"), 2)).toEqual(["two", "three"]);
    expect(tailOf(path.join(dir, "absent.log"), 2)).toEqual([]);
  });
});
