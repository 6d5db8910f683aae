"use client";

import { useEffect, useEffectEvent, useRef, useState } from "react";
import { catalogueTypes } from "@/lib/events/catalog";
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
    // The API's event stream, with the sign-in cookie: the one route that checks who may follow a session.
    const source = new EventSource(`/api/v1/sessions/${encodeURIComponent(sessionId)}/events?after=${lastId.current}`);
    const receive = (message: MessageEvent<string>) => {
      const event = parseStreamEvent(message.data);
      if (!event) return;
      lastId.current = Math.max(lastId.current, event.id);
      setState((current) => applyEvent(current, event));
      notify(event);
    };
    // Each event arrives named by its type, and EventSource hands a named event only to a listener for that
    // name: one listener per type of the event catalogue, so every type the engine can write is heard.
    for (const type of catalogueTypes) source.addEventListener(type, receive);
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
