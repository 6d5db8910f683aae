import { revalidatePath } from "next/cache";

/** The pages that show a session's state: its own, the lists and the overview. */
export function revalidateSessionPages(sessionId: string): void {
  revalidatePath(`/sessions/${sessionId}`);
  revalidatePath("/sessions");
  revalidatePath("/schedules");
  revalidatePath("/replicas");
  revalidatePath("/");
}
