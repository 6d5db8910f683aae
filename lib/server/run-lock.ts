// One product server per data folder: a second start on the same folder is refused with a clear message,
// while a lock left by a killed run (its process is gone) is taken over.
import fs from "node:fs";
import path from "node:path";

function processCommand(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    try {
      process.kill(pid, 0);
      return "";
    } catch {
      return null;
    }
  }
}

export function acquireRunLock(dataDir: string, marker: string): () => void {
  const file = path.join(dataDir, "server.pid");
  fs.mkdirSync(dataDir, { recursive: true });
  if (fs.existsSync(file)) {
    const pid = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
    const command = Number.isInteger(pid) && pid !== process.pid ? processCommand(pid) : null;
    if (command !== null && command.includes(marker)) {
      throw new Error(
        `Failback is already running from ${dataDir} (pid ${pid}). Stop it first, or set FAILBACK_DATA_DIR to another folder.`,
      );
    }
  }
  fs.writeFileSync(file, `${process.pid}\n`);
  return () => {
    try {
      if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file);
    } catch {
      // Already gone.
    }
  };
}
