// The walker behind the web bundle check, on a made-up build folder.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findSentinels } from "./find-sentinels";

const sentinels = [
  { family: "alpha", sentinel: "failback-boundary-sentinel:alpha" },
  { family: "beta", sentinel: "failback-boundary-sentinel:beta" },
];

let root: string;
const write = (relative: string, content: string | Buffer) => {
  const file = path.join(root, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
};

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "find-sentinels-"));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe("findSentinels", () => {
  it("names each sentinel with every file it is in, at any depth and in any kind of file", () => {
    write("app/page.js", 'var a="x";class P{constructor(){this.s="failback-boundary-sentinel:alpha"}}');
    write("chunks/ssr/deep/0abc.js", 'console.log("worker started, failback-boundary-sentinel:beta")');
    write("chunks/ssr/deep/0abc.js.map", '{"sourcesContent":["... failback-boundary-sentinel:beta ..."]}');
    write(
      "chunks/data.bin",
      Buffer.concat([Buffer.from([0, 255, 7]), Buffer.from("failback-boundary-sentinel:alpha")]),
    );
    write("app/clean.js", "export const nothing = 1;");

    expect(findSentinels(root, sentinels)).toEqual([
      { family: "alpha", sentinel: "failback-boundary-sentinel:alpha", file: path.join(root, "app/page.js") },
      { family: "alpha", sentinel: "failback-boundary-sentinel:alpha", file: path.join(root, "chunks/data.bin") },
      { family: "beta", sentinel: "failback-boundary-sentinel:beta", file: path.join(root, "chunks/ssr/deep/0abc.js") },
      {
        family: "beta",
        sentinel: "failback-boundary-sentinel:beta",
        file: path.join(root, "chunks/ssr/deep/0abc.js.map"),
      },
    ]);
  });

  it("names two sentinels in one file separately", () => {
    write("route.js", "failback-boundary-sentinel:beta;failback-boundary-sentinel:alpha");
    expect(findSentinels(root, sentinels).map((f) => f.family)).toEqual(["alpha", "beta"]);
  });

  it("finds nothing in a clean build, and does not follow symbolic links out of it", () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "find-sentinels-outside-"));
    try {
      fs.writeFileSync(path.join(outside, "worker.js"), "failback-boundary-sentinel:alpha");
      write("app/page.js", "export default function Page() {}");
      fs.symlinkSync(outside, path.join(root, "linked"));
      expect(findSentinels(root, sentinels)).toEqual([]);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
