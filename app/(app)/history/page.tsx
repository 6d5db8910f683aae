import { redirect } from "next/navigation";

// History is the sessions list with finished sessions included.
export default function HistoryPage() {
  redirect("/sessions?view=all");
}
