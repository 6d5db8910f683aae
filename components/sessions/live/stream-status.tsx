"use client";

import { useSessionLive } from "./session-live";

const looks = {
  live: { dot: "bg-teal-500", text: "Live", tone: "text-teal-800 bg-teal-50 ring-teal-600/30" },
  connecting: { dot: "bg-slate-400", text: "Connecting…", tone: "text-slate-700 bg-slate-50 ring-slate-300" },
  reconnecting: {
    dot: "bg-amber-500 animate-pulse",
    text: "Disconnected: reconnecting…",
    tone: "text-amber-900 bg-amber-50 ring-amber-600/40",
  },
  closed: { dot: "bg-red-600", text: "Disconnected: updates stopped", tone: "text-red-800 bg-red-50 ring-red-600/40" },
} as const;

/** Says plainly whether what is on screen is still being updated. */
export function StreamStatus() {
  const { status, reconnect } = useSessionLive();
  const look = looks[status];
  return (
    <div className="flex items-center gap-2">
      <span
        data-testid="stream-status"
        data-state={status}
        role="status"
        className={`inline-flex items-center gap-2 rounded-full px-2.5 py-1 text-xs font-medium ring-1 ring-inset ${look.tone}`}
      >
        <span aria-hidden className={`h-2 w-2 rounded-full ${look.dot}`} />
        {look.text}
      </span>
      {status === "closed" ? (
        <button
          type="button"
          onClick={reconnect}
          className="text-xs font-medium text-teal-800 underline-offset-2 hover:underline"
        >
          Reconnect
        </button>
      ) : null}
    </div>
  );
}
