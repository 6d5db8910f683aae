"use client";

import { useRouter } from "next/navigation";
import { createContext, use, useEffect, useRef, useState } from "react";
import type { LiveState, TypedLiveEvent } from "./live-state";
import { useSessionStream, type StreamStatus } from "./use-session-stream";

interface SessionLive {
  state: LiveState;
  status: StreamStatus;
  reconnect: () => void;
  /** Item id → the VM's name, for the log. */
  vmNames: Record<string, string>;
}

const LiveContext = createContext<SessionLive | null>(null);

export function useSessionLive(): SessionLive {
  const live = use(LiveContext);
  if (!live) throw new Error("useSessionLive outside SessionLiveProvider");
  return live;
}

/**
 * Holds the session's live view. Progress events only update the bars; every other event means rows changed
 * (a step, a state, the schedule), so the server-rendered parts are fetched again — once per burst.
 */
export function SessionLiveProvider({
  sessionId,
  initial,
  vmNames,
  children,
}: {
  sessionId: string;
  initial: LiveState;
  vmNames: Record<string, string>;
  children: React.ReactNode;
}) {
  const router = useRouter();
  const pendingRefresh = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (pendingRefresh.current) clearTimeout(pendingRefresh.current);
    },
    [],
  );
  const onEvent = (event: TypedLiveEvent) => {
    if (event.type === "step.progress" || pendingRefresh.current) return;
    pendingRefresh.current = setTimeout(() => {
      pendingRefresh.current = null;
      router.refresh();
    }, 250);
  };
  const { state, status, reconnect } = useSessionStream(sessionId, initial, onEvent);
  // The last event the server had rendered when this page was opened: everything after it came live.
  const [renderedEventId] = useState(initial.lastEventId);
  return (
    <LiveContext value={{ state, status, reconnect, vmNames }}>
      <div data-testid="session-live" data-last-event-id={state.lastEventId} data-rendered-event-id={renderedEventId}>
        {children}
      </div>
    </LiveContext>
  );
}
