"use client";

import { useSyncExternalStore } from "react";
import { formatInZone } from "./zoned-time";

const never = () => () => {};
const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** The browser's IANA zone; null during server rendering and hydration (the server cannot know it). */
export function useBrowserTimeZone(): string | null {
  return useSyncExternalStore(never, browserZone, () => null);
}

/**
 * An instant in the viewer's own zone. The server renders UTC (it does not know the viewer's zone); the browser
 * then shows its zone, so the text never claims a zone it is not in.
 */
export function LocalTime({ iso, testId }: { iso: string; testId?: string }) {
  const zone = useBrowserTimeZone();
  const shown = zone ?? "UTC";
  return (
    <time dateTime={iso} title={iso} data-zone={shown} data-testid={testId}>
      {formatInZone(new Date(iso), shown, new Date(iso).getUTCSeconds() !== 0)}{" "}
      <span className="text-slate-500">{shown}</span>
    </time>
  );
}
