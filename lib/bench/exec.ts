// Running the external tools the benchmark compares against (and the ones that build its disks).
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface RunResult {
  stdout: string;
  stderr: string;
  /** 0 on success; the tool's exit code otherwise (only when `allowExitCodes` lets it through). */
  exitCode: number;
}

/** Runs a command; a non-zero exit is an error unless listed in `allowExitCodes` (qemu-img compare uses 1). */
export async function run(
  command: string,
  args: readonly string[],
  options: { allowExitCodes?: readonly number[] } = {},
): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr, exitCode: 0 };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message: string };
    if (typeof e.code === "number" && options.allowExitCodes?.includes(e.code)) {
      return { stdout: e.stdout ?? "", stderr: e.stderr ?? "", exitCode: e.code };
    }
    throw new Error(`${command} ${args.join(" ")} failed: ${(e.stderr ?? "").trim() || e.message}`);
  }
}
