// CPU time of this process and of its reaped children (the qemu-storage-daemons it started and stopped), to see
// where a timed part spent its cycles on a machine with few cores.
import { readFileSync } from "node:fs";

export interface CpuSnapshot {
  /** This Node process, all threads (user + system), seconds. */
  self: number;
  /** Children that have exited and been waited for (user + system), seconds. */
  children: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function cpuSnapshot(): CpuSnapshot {
  const usage = process.cpuUsage();
  let children = 0;
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields after "(comm)": state is field 3; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    children = (Number(fields[13]) + Number(fields[14])) / TICKS_PER_SECOND;
  } catch {
    // not Linux: children unknown
  }
  return { self: (usage.user + usage.system) / 1e6, children };
}

export function cpuSince(before: CpuSnapshot): CpuSnapshot {
  const now = cpuSnapshot();
  return { self: now.self - before.self, children: now.children - before.children };
}
