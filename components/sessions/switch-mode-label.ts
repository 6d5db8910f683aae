import type { FailbackSession } from "@/lib/db/schema";

export const switchModeLabels: Record<FailbackSession["switchMode"], string> = {
  auto: "Automatic (right after phase 1)",
  scheduled: "Scheduled",
  manual: "Manual (Switch now)",
};

export const targetKindLabels = {
  original: "Original VM",
  recovered: "Recovered VM",
  new_location: "New location",
} as const;
