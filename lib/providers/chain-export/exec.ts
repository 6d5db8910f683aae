// Runs QEMU's command-line tools; a failure becomes a typed ProviderError carrying the tool's own message.
import { execFile } from "node:child_process";
import { ProviderError } from "../errors";

export interface ExecResult {
  stdout: string;
  stderr: string;
}

function classify(stderr: string): ProviderError["kind"] {
  if (/No space left on device/i.test(stderr)) return "no_space";
  if (/Failed to get .*lock|Is another process using the image/i.test(stderr)) return "busy";
  if (/No such file or directory|Could not open/i.test(stderr)) return "not_found";
  return "hypervisor";
}

export function runTool(command: string, args: string[], options: { timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          const message = (stderr || error.message).trim();
          const kind = (error as NodeJS.ErrnoException).code === "ENOENT" ? "unsupported" : classify(message);
          const what =
            kind === "unsupported"
              ? `${command} is not installed (Debian: apt-get install qemu-utils)`
              : `${command} ${args[0] ?? ""} failed`;
          reject(new ProviderError(kind, what, message));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

export const qemuImg = (args: string[], options?: { timeoutMs?: number }) => runTool("qemu-img", args, options);
