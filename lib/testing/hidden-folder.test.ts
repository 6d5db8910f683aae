import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execWithFolderHidden, runWithFolderHidden } from "./hidden-folder";

describe("a folder hidden from a child process", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-hidden-"));
    file = path.join(dir, "secret.txt");
    fs.writeFileSync(file, "visible outside\n");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("is empty inside, and intact outside", async () => {
    const inside = await execWithFolderHidden(dir, "cat", [file]);
    expect(inside.code).not.toBe(0);
    expect(inside.stderr).toContain("No such file or directory");
    expect(inside.stdout).toBe("");
    expect(fs.readFileSync(file, "utf8")).toBe("visible outside\n");
  });

  it("hides that folder only", async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "failback-hidden-other-"));
    try {
      expect(await execWithFolderHidden(other, "cat", [file])).toEqual({
        code: 0,
        stdout: "visible outside\n",
        stderr: "",
      });
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });

  it("is read-only inside, and what the child tries to write lands nowhere", async () => {
    const result = await execWithFolderHidden(dir, "touch", [path.join(dir, "new")]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("Read-only file system");
    expect(fs.readdirSync(dir)).toEqual(["secret.txt"]);
  });

  it("passes the environment and every argument through unchanged", async () => {
    const odd = ["two words", "it's", '"$HOME"', "`id`", "a;b", ""];
    process.env.FAILBACK_HIDDEN_FOLDER_TEST = "inherited";
    try {
      const result = await execWithFolderHidden(dir, "sh", [
        "-c",
        'printf "%s\\n" "$FAILBACK_HIDDEN_FOLDER_TEST" "$@"',
        "sh",
        ...odd,
      ]);
      expect(result).toEqual({ code: 0, stdout: ["inherited", ...odd].join("\n") + "\n", stderr: "" });
    } finally {
      delete process.env.FAILBACK_HIDDEN_FOLDER_TEST;
    }
  });

  it("hands back a long-running child to stop", async () => {
    const child = runWithFolderHidden(dir, "sleep", ["60"], { stdio: "ignore" });
    // Once sleep runs (unshare and sh exec into it), the cover is in place: /proc/<pid>/root shows the child's view.
    await expect.poll(() => fs.readFileSync(`/proc/${child.pid}/comm`, "utf8")).toBe("sleep\n");
    expect(fs.existsSync(`/proc/${child.pid}/root${file}`)).toBe(false);
    expect(fs.readFileSync(file, "utf8")).toBe("visible outside\n");
    child.kill("SIGTERM");
    const [code, signal] = await once(child, "exit");
    expect({ code, signal }).toEqual({ code: null, signal: "SIGTERM" });
  });
});
