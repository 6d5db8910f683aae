// The whole-project tracing warning as our own `next build` printed it (Next.js 16.4.6, Turbopack): the start of the
// output, its first warning (code frame colours included, import traces cut after the first) and the head of its third.
import { describe, expect, it } from "vitest";
import { describeTracingWarnings, tracingWarnings } from "./tracing-warnings";

const buildOutput = [
  "\u25b2 Next.js 16.4.6 (Turbopack)",
  "\u2713 Running next.config.ts took 52ms",
  "",
  "  Creating an optimized production build ...",
  "Turbopack build encountered 3 warnings:",
  "./lib/guest/build-guest.ts:168:39",
  "Warning: Dynamic filesystem access causes tracing of the whole project",
  "  \u001b[90m166 |\u001b[0m   \u001b[36mconst\u001b[0m image = imagePaths(dir);",
  "  \u001b[90m167 |\u001b[0m   \u001b[36mtry\u001b[0m {",
  "\u001b[33m\u001b[1m>\u001b[0m \u001b[90m168 |\u001b[0m     \u001b[36mconst\u001b[0m [k, i] = \u001b[36mawait\u001b[0m \u001b[33mPromise\u001b[0m.all([fs.stat(image.kernel), fs.stat(image.initrd)]);",
  "  \u001b[90m    |\u001b[0m                                       \u001b[33m\u001b[1m^^^^^^^^^^^^^^^^^^^^^\u001b[0m",
  "  \u001b[90m169 |\u001b[0m     \u001b[36mif\u001b[0m (!k.isFile() || !i.isFile() || k.size === \u001b[35m0\u001b[0m || i.size === \u001b[35m0\u001b[0m) \u001b[36mreturn\u001b[0m \u001b[36mnull\u001b[0m;",
  "  \u001b[90m170 |\u001b[0m   } \u001b[36mcatch\u001b[0m {",
  "  \u001b[90m171 |\u001b[0m     \u001b[36mreturn\u001b[0m \u001b[36mnull\u001b[0m;",
  "",
  "Static analysis determined that this filesystem access causes the whole project to be traced and included in the output.",
  "This is usually unintentional and leads to all source files (including the public folder) to be deployed as part of the server code.",
  "This can slow down deployments or lead to failures when size limits are exceeded.",
  "To resolve this, you can",
  "- make sure the path is statically scoped to some subfolder, for example path.join(process.cwd(), 'data', bar), or",
  "- only use them in development, or",
  "- opt out by adding an ignore comment to the highlighted call: fs.stat(/*turbopackIgnore: true*/ ...), or",
  "- remove them.",
  "",
  "Import traces:",
  "  #1 [App Route]:",
  "    ./lib/guest/build-guest.ts",
  "    ./lib/providers/qemu/vm-process.ts",
  "    ./lib/providers/qemu/power.ts",
  "    ./lib/providers/qemu/provider.ts",
  "    ./lib/engine/providers.ts",
  "    ./lib/engine/context.ts",
  "    ./lib/engine/worker.ts",
  "    ./lib/engine/index.ts",
  "    ./lib/server/engine-instance.ts",
  "    ./app/api/v1/sessions/route.ts",
  "",
  "",
  "./lib/guest/build-guest.ts:415:24",
  "Warning: Dynamic filesystem access causes tracing of the whole project",
  '  \u001b[90m413 |\u001b[0m   \u001b[36mconst\u001b[0m release = image.slice(\u001b[32m"vmlinuz-"\u001b[0m.length);',
  '  \u001b[90m414 |\u001b[0m   \u001b[36mfor\u001b[0m (\u001b[36mconst\u001b[0m base \u001b[36mof\u001b[0m [\u001b[32m"lib/modules"\u001b[0m, \u001b[32m"usr/lib/modules"\u001b[0m]) {',
  "\u001b[33m\u001b[1m>\u001b[0m \u001b[90m415 |\u001b[0m     \u001b[36mconst\u001b[0m modulesDir = path.join(kernelRoot, base, release);",
  "",
  "Static analysis determined that this filesystem access causes the whole project to be traced and included in the output.",
  "",
  "> Build error occurred",
].join("\n");

describe("tracingWarnings", () => {
  it("finds each warning's location in next build's output", () => {
    expect(tracingWarnings(buildOutput)).toEqual([
      "./lib/guest/build-guest.ts:168:39",
      "./lib/guest/build-guest.ts:415:24",
    ]);
  });

  it("finds them when the title is coloured too (a colour terminal) and lines end in CRLF", () => {
    const coloured = buildOutput
      .replaceAll("Warning:", "\u001b[33m\u001b[1mWarning\u001b[22m\u001b[39m:")
      .replaceAll("\n", "\r\n");
    expect(tracingWarnings(coloured)).toHaveLength(2);
  });

  it("counts a warning without a location by its title", () => {
    expect(
      tracingWarnings(
        "Turbopack build encountered 1 warning:\nWarning: Dynamic filesystem access causes tracing of the whole project\n",
      ),
    ).toEqual(["Dynamic filesystem access causes tracing of the whole project"]);
  });

  it("finds nothing in a clean build's output", () => {
    expect(
      tracingWarnings(
        "\u25b2 Next.js 16.4.6 (Turbopack)\n\n  Creating an optimized production build ...\n\u2713 Compiled successfully in 20.1s\n",
      ),
    ).toEqual([]);
  });
});

describe("describeTracingWarnings", () => {
  it("names the warning and every location", () => {
    const message = describeTracingWarnings(["./lib/guest/build-guest.ts:168:39", "./lib/guest/build-guest.ts:415:24"]);
    expect(message).toContain("Dynamic filesystem access causes tracing of the whole project");
    expect(message).toContain("  ./lib/guest/build-guest.ts:168:39\n  ./lib/guest/build-guest.ts:415:24\n");
  });
});
