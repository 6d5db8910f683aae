import { redirect } from "next/navigation";

// Failbacks start from the replicas page, where the replicas are chosen.
export default function FailbackIndex() {
  redirect("/replicas?state=failover");
}
