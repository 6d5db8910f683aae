"use client";

import { useEffect, useEffectEvent, useRef, useState } from "react";
import { applyEvent, parseStreamEvent, type LiveState, type TypedLiveEvent } from "./live-state";

export type StreamStatus = "connecting" | "live" | "reconnecting" | "closed";

/**
 * Follows a session's events over SSE. The first connection asks for everything after the last event the
 * server rendered (?after=); the browser's own reconnects send Last-Event-ID, so a dropped connection or a
 * restarted server misses nothing. `reconnect` opens a new connection after the browser gave up.
 */
export function useSessionStream(sessionId: string, initial: LiveState, onEvent: (event: TypedLiveEvent) => void) {
  const [state, setState] = useState(initial);
  const [status, setStatus] = useState<StreamStatus>("connecting");
  const [generation, setGeneration] = useState(0);
  const lastId = useRef(initial.lastEventId);
  const notify = useEffectEvent(onEvent);

  useEffect(() => {
    const source = new EventSource(`/api/sessions/${encodeURIComponent(sessionId)}/events?after=${lastId.current}`);
    const receive = (message: MessageEvent<string>) => {
      const event = parseStreamEvent(message.data);
      if (!event) return;
      lastId.current = Math.max(lastId.current, event.id);
      setState((current) => applyEvent(current, event));
      notify(event);
    };
    // The dashboard's route sends every event unnamed (its type is in the data), so one listener hears all.
    source.onmessage = receive;
    source.onopen = () => setStatus("live");
    // CONNECTING after an error: the browser retries by itself. CLOSED: it gave up (e.g. signed out).
    source.onerror = () => setStatus(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    return () => source.close();
  }, [sessionId, generation]);

  const reconnect = () => {
    setStatus("connecting");
    setGeneration((g) => g + 1);
  };
  return { state, status, reconnect };
}
