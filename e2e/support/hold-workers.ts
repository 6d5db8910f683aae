// The e2e lab's disks are 16 MiB, so a phase runs in about a second — too fast to be sure a page is open while it
// runs. A test that must watch a phase live holds the failback workers at their next write of a step row (a
// SHARE lock on failback_steps blocks inserts and updates, never reads or the commands that start a failback or
// request a switch), opens the page, and lets go. Hold briefly: the workers' leases are a few seconds.
import { e2eDatabase } from "./db";

export interface Hold {
  release(): Promise<void>;
}

export async function holdStepWrites(): Promise<Hold> {
  const sql = e2eDatabase();
  const connection = await sql.reserve();
  await connection`begin`;
  await connection`lock table failback_steps in share mode`;
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await connection`commit`;
      connection.release();
      await sql.end();
    },
  };
}
