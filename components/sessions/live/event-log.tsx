"use client";

import { useState } from "react";
import { utcClock } from "@/components/ui/format";
import { describeEvent } from "./describe-event";
import { useSessionLive } from "./session-live";

const levelTone = { info: "text-slate-700", warning: "text-amber-800", error: "text-red-800" } as const;

/** Every event of the session, newest first, with its id (the stream resumes after the last one). */
export function EventLog() {
  const { state, vmNames } = useSessionLive();
  const [showProgress, setShowProgress] = useState(false);
  const shown = state.log.filter((e) => showProgress || e.type !== "step.progress");
  const hiddenProgress = state.log.length - shown.length;
  return (
    <div>
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2 text-xs text-slate-600">
        <label className="inline-flex items-center gap-2">
          <input
            type="checkbox"
            checked={showProgress}
            onChange={(e) => setShowProgress(e.target.checked)}
            className="rounded border-slate-300"
          />
          Show progress reports{hiddenProgress && !showProgress ? ` (${hiddenProgress} hidden)` : ""}
        </label>
        {state.logDropped ? <span>{state.logDropped} older events are not shown here.</span> : null}
      </div>
      <ol
        data-testid="event-log"
        className="max-h-96 divide-y divide-slate-100 overflow-y-auto rounded-md ring-1 ring-slate-200"
      >
        {shown.length === 0 ? <li className="px-3 py-4 text-sm text-slate-600">No events yet.</li> : null}
        {[...shown].reverse().map((event) => (
          <li
            key={event.id}
            data-testid="event"
            data-event-id={event.id}
            data-type={event.type}
            className="grid grid-cols-[auto_1fr] gap-x-3 px-3 py-1.5 text-xs sm:grid-cols-[4.5rem_4.5rem_7rem_1fr]"
          >
            <span className="font-mono text-slate-400">#{event.id}</span>
            <span className="tabular-nums text-slate-500">{utcClock(event.createdAt)}</span>
            <span className="truncate font-medium text-slate-700">
              {event.itemId ? (vmNames[event.itemId] ?? "VM") : "session"}
            </span>
            <span className={levelTone[event.level]}>{describeEvent(event)}</span>
          </li>
        ))}
      </ol>
    </div>
  );
}
