// The API's read routes (and this document), described by hand: who am I, replicas, sessions, events.
import { itemStates, replicaStates } from "@/lib/db/schema";
import { errorResponses, idParameter, jsonContent, operation, ref, type Json } from "./building-blocks";

export const readPaths: Record<string, Json> = {
  "/api/v1/openapi.json": {
    get: {
      summary: "This document.",
      security: [],
      responses: { "200": { description: "OK", content: jsonContent({ type: "object" }) } },
    },
  },
  "/api/v1/me": {
    get: operation({
      summary: "Who the credentials belong to, with their current role and permissions.",
      permission: null,
      ok: ref("Me"),
      errors: ["THROTTLED"],
    }),
  },
  "/api/v1/replicas": {
    get: operation({
      summary: "List replicas.",
      permission: "replica.read",
      parameters: [
        { name: "state", in: "query", schema: { type: "string", enum: [...replicaStates] } },
        {
          name: "site",
          in: "query",
          description: "A site name, source or replica side.",
          schema: { type: "string" },
        },
        {
          name: "name",
          in: "query",
          description: "Part of a VM name, case-insensitive.",
          schema: { type: "string" },
        },
      ],
      ok: { type: "object", properties: { replicas: { type: "array", items: ref("Replica") } } },
      errors: ["VALIDATION", "FORBIDDEN", "THROTTLED"],
    }),
  },
  "/api/v1/replicas/{id}": {
    get: operation({
      summary: "One replica.",
      permission: "replica.read",
      parameters: [idParameter("The replica.")],
      ok: { type: "object", properties: { replica: ref("Replica") } },
      errors: ["FORBIDDEN", "NOT_FOUND", "THROTTLED"],
    }),
  },
  "/api/v1/sessions": {
    get: operation({
      summary: "List failback sessions, newest first.",
      permission: "session.read",
      parameters: [
        { name: "state", in: "query", schema: { type: "string", enum: [...itemStates] } },
        {
          name: "live",
          in: "query",
          description: "Only unfinished sessions.",
          schema: { type: "string", enum: ["true", "false"] },
        },
        { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
        { name: "offset", in: "query", schema: { type: "integer", minimum: 0 } },
      ],
      ok: { type: "object", properties: { sessions: { type: "array", items: ref("SessionSummary") } } },
      errors: ["VALIDATION", "FORBIDDEN", "THROTTLED"],
    }),
  },
  "/api/v1/sessions/{id}": {
    get: operation({
      summary: "One session with its items, steps and schedule.",
      permission: "session.read",
      parameters: [idParameter("The failback session.")],
      ok: ref("SessionDetail"),
      errors: ["FORBIDDEN", "NOT_FOUND", "THROTTLED"],
    }),
  },
  "/api/v1/sessions/{id}/events": {
    get: {
      ...operation({
        summary: "The session's events: server-sent events (default), or a page of JSON.",
        description:
          "As text/event-stream: every event after Last-Event-ID (or ?after=), then live; each has `id:`, `event:` (its type) and `data:` (the Event as JSON). " +
          "The stream closes when the caller is no longer allowed. With format=json: {events, nextAfter, more}.",
        permission: "session.read",
        parameters: [
          idParameter("The failback session."),
          { name: "format", in: "query", schema: { type: "string", enum: ["sse", "json"], default: "sse" } },
          {
            name: "after",
            in: "query",
            description: "Only events with a larger id.",
            schema: { type: "integer", minimum: 0 },
          },
          {
            name: "limit",
            in: "query",
            description: "format=json: page size.",
            schema: { type: "integer", minimum: 1, maximum: 500, default: 100 },
          },
          { name: "Last-Event-ID", in: "header", schema: { type: "string" } },
        ],
        ok: {
          type: "object",
          properties: {
            events: { type: "array", items: ref("Event") },
            nextAfter: { type: "integer" },
            more: { type: "boolean" },
          },
        },
        errors: ["VALIDATION", "FORBIDDEN", "NOT_FOUND", "THROTTLED"],
      }),
      responses: {
        "200": {
          description: "OK",
          content: {
            "text/event-stream": { schema: { type: "string" } },
            ...jsonContent({
              type: "object",
              properties: {
                events: { type: "array", items: ref("Event") },
                nextAfter: { type: "integer" },
                more: { type: "boolean" },
              },
            }),
          },
        },
        ...errorResponses("VALIDATION", "FORBIDDEN", "NOT_FOUND", "THROTTLED"),
      },
    },
  },
};
