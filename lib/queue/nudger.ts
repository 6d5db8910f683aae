// How a command hands the workers their work after its transaction committed: a job per item, and the
// schedule's job at its time. Best effort by design: the workers' sweep finds whatever a lost job missed.
import type { Nudge, Nudger } from "@/lib/commands/define";
import type { JobQueue } from "./queue";

export function queueNudger(queue: JobQueue): Nudger {
  return {
    async nudge({ itemIds = [], schedule }: Nudge) {
      for (const id of itemIds) await queue.sendItem(id).catch(() => {});
      if (schedule) await queue.sendSchedule(schedule.id, schedule.runAt).catch(() => {});
    },
  };
}
