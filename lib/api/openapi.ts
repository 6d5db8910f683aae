// The API's OpenAPI 3.1 description, written as data. lib/api/openapi.test.ts keeps it true: every route file
// under app/api/v1 appears here with exactly its methods, and nothing else does.
import { itemStates, replicaStates, switchModes, targetKinds } from "@/lib/db/schema";
import { errorCodes } from "@/lib/errors";
import { sessionActions, type SessionActionName } from "./session-actions";
import { statusOfCode } from "./errors";

type Json = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: Json) => ({ "application/json": { schema } });
const uuid = { type: "string", format: "uuid" };
const dateTime = { type: "string", format: "date-time" };
const nullable = (schema: Json) => ({ oneOf: [schema, { type: "null" }] });

function errorResponses(...codes: (typeof errorCodes)[number][]): Json {
  const responses: Json = {};
  for (const code of ["UNAUTHENTICATED", ...codes] as const) {
    const status = String(statusOfCode[code]);
    const known = (responses[status] as { description: string } | undefined)?.description;
    responses[status] = { description: known ? `${known} or ${code}` : code, content: jsonContent(ref("Error")) };
  }
  return responses;
}

const idParameter = (description: string) => ({ name: "id", in: "path", required: true, description, schema: uuid });

function operation(spec: {
  summary: string;
  permission: string | null;
  description?: string;
  parameters?: Json[];
  body?: Json;
  bodyRequired?: boolean;
  ok: Json;
  okStatus?: string;
  errors: (typeof errorCodes)[number][];
}): Json {
  return {
    summary: spec.summary,
    description: [
      spec.description,
      spec.permission ? `Needs the permission \`${spec.permission}\`.` : "Any signed-in caller.",
    ]
      .filter(Boolean)
      .join(" "),
    ...(spec.permission ? { "x-permission": spec.permission } : {}),
    ...(spec.parameters ? { parameters: spec.parameters } : {}),
    ...(spec.body ? { requestBody: { required: spec.bodyRequired ?? true, content: jsonContent(spec.body) } } : {}),
    responses: {
      [spec.okStatus ?? "200"]: { description: "OK", content: jsonContent(spec.ok) },
      ...errorResponses(...spec.errors),
    },
  };
}

const actionSummaries: Record<SessionActionName, string> = {
  "switch-now": "Switch now: start phase 2 for the VMs waiting to switch (or as soon as phase 1 ends).",
  reschedule: "Change the scheduled switch time.",
  "cancel-schedule": "Cancel the scheduled switch; the session switches manually from now on.",
  commit: "Commit switched VMs: the replicas return to ready and replication resumes.",
  undo: "Undo: production powers off and the replicas run again in failover.",
  cancel: "Cancel phase 1 at a safe point.",
  retry: "Retry the stopped step of VMs that need attention.",
};

function sessionActionPath(name: SessionActionName): Json {
  const action = sessionActions[name];
  const body =
    name === "reschedule"
      ? ref("RescheduleRequest")
      : name === "cancel-schedule"
        ? { type: "object", additionalProperties: false }
        : ref("ItemActionRequest");
  return {
    post: operation({
      summary: actionSummaries[name],
      permission: action.permission,
      parameters: [idParameter("The failback session.")],
      body,
      bodyRequired: action.bodyRequired,
      ok: ref("CommandResult"),
      errors: ["VALIDATION", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "INVALID_STATE", "THROTTLED"],
    }),
  };
}

const schemas: Json = {
  Error: {
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        properties: {
          code: { type: "string", enum: [...errorCodes] },
          message: { type: "string" },
          fieldErrors: {
            type: "object",
            additionalProperties: { type: "array", items: { type: "string" } },
            description: "Messages per field path (items.0.replicaId, switchAt.local, …).",
          },
        },
      },
    },
  },
  Me: {
    type: "object",
    properties: {
      userId: uuid,
      email: { type: "string" },
      role: { type: "string", enum: ["admin", "operator", "viewer"] },
      via: { type: "string", enum: ["token", "cookie"] },
      token: nullable({ type: "string" }),
      permissions: { type: "array", items: { type: "string" } },
    },
  },
  Replica: {
    type: "object",
    properties: {
      id: uuid,
      state: { type: "string", enum: [...replicaStates] },
      replicationOnHold: { type: "boolean" },
      lastReplicatedAt: nullable(dateTime),
      sourceVmName: { type: "string" },
      sourceSiteName: { type: "string" },
      replicaVmName: { type: "string" },
      replicaSiteName: { type: "string" },
      restorePoints: { type: "integer" },
    },
  },
  SessionSummary: {
    type: "object",
    properties: {
      id: uuid,
      state: { type: "string", enum: [...itemStates] },
      switchMode: { type: "string", enum: [...switchModes] },
      quickRollback: { type: "boolean" },
      reason: { type: "string" },
      createdAt: dateTime,
      finishedAt: nullable(dateTime),
      createdByEmail: nullable({ type: "string" }),
      items: { type: "integer" },
      vmNames: { type: "array", items: { type: "string" } },
      nextSwitchAt: nullable(dateTime),
    },
  },
  SessionDetail: {
    type: "object",
    properties: {
      session: {
        type: "object",
        description:
          "The session row: id, state, switchMode, quickRollback, powerOnAfter, shutdownTimeoutSeconds, reason, createdAt, finishedAt, createdByEmail, …",
      },
      items: {
        type: "array",
        items: {
          type: "object",
          properties: {
            id: uuid,
            replicaId: uuid,
            state: { type: "string", enum: [...itemStates] },
            activePlan: nullable({ type: "string" }),
            attentionReason: nullable({ type: "string" }),
            targetKind: { type: "string", enum: [...targetKinds] },
            targetVmName: nullable({ type: "string" }),
            sourceVmName: { type: "string" },
            replicaVmName: { type: "string" },
            switchRequested: { type: "boolean" },
            cancelRequested: { type: "boolean" },
            steps: { type: "array", items: { type: "object" } },
          },
        },
      },
      schedule: nullable({
        type: "object",
        properties: {
          id: uuid,
          runAt: dateTime,
          timeZone: { type: "string" },
          state: { type: "string", enum: ["pending", "started", "cancelled"] },
        },
      }),
    },
  },
  StartRequest: {
    type: "object",
    required: ["items", "switchMode"],
    properties: {
      items: {
        type: "array",
        minItems: 1,
        maxItems: 200,
        items: {
          type: "object",
          additionalProperties: false,
          required: ["replicaId", "target"],
          properties: {
            replicaId: uuid,
            target: { type: "string", enum: [...targetKinds] },
            recoveredVmId: { ...uuid, description: "target recovered: the VM recovered elsewhere." },
            newLocation: {
              type: "object",
              additionalProperties: false,
              required: ["hostId", "name"],
              description: "target new_location: where to create the new VM.",
              properties: {
                hostId: uuid,
                name: { type: "string", maxLength: 63 },
                cpus: { type: "integer", minimum: 1, maximum: 64 },
                memoryMib: { type: "integer", minimum: 16 },
                network: { type: "string", maxLength: 64 },
              },
            },
          },
        },
      },
      quickRollback: { type: "boolean", default: false },
      switchMode: { type: "string", enum: [...switchModes] },
      switchAt: { ...ref("RescheduleRequest"), description: "switchMode scheduled: when to switch." },
      powerOnAfter: { type: "boolean", default: true },
      shutdownTimeoutSeconds: { type: "integer", minimum: 0, maximum: 86400, default: 900 },
      reason: { type: "string", maxLength: 2000, default: "" },
    },
  },
  StartedFailback: {
    type: "object",
    properties: {
      sessionId: uuid,
      itemIds: { type: "array", items: uuid },
      scheduleId: nullable(uuid),
      runAt: nullable(dateTime),
      preflight: { type: "array", items: { type: "object" } },
    },
  },
  ItemActionRequest: {
    type: "object",
    additionalProperties: false,
    properties: { itemId: { ...uuid, description: "Only this VM of the session; all of them when left out." } },
  },
  RescheduleRequest: {
    type: "object",
    additionalProperties: false,
    required: ["local", "timeZone"],
    properties: {
      local: { type: "string", description: "YYYY-MM-DDTHH:mm, a wall-clock time in timeZone.", maxLength: 32 },
      timeZone: { type: "string", description: "IANA zone, e.g. Europe/Berlin.", maxLength: 64 },
    },
  },
  CommandResult: {
    type: "object",
    properties: {
      sessionId: uuid,
      itemIds: { type: "array", items: uuid },
      message: { type: "string" },
      schedule: { type: "object", properties: { id: uuid, runAt: dateTime } },
    },
  },
  Event: {
    type: "object",
    properties: {
      id: { type: "integer" },
      sessionId: uuid,
      itemId: nullable(uuid),
      type: { type: "string" },
      level: { type: "string", enum: ["info", "warning", "error"] },
      payload: { type: "object" },
      createdAt: dateTime,
    },
  },
};

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Failback API",
    version: "1.0.0",
    description:
      "Start and steer failbacks from scripts. Authenticate with `Authorization: Bearer fbk_…` (create a token on your profile page); " +
      "a token acts with its user's current role. Errors are `{error: {code, message, fieldErrors?}}`.",
  },
  servers: [{ url: "/" }],
  security: [{ bearerToken: [] }, { signInCookie: [] }],
  paths: {
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
      post: operation({
        summary: "Start a failback.",
        description: "Validates, pre-flights every replica, then starts phase 1. Refusals name the field they concern.",
        permission: "failback.start",
        body: ref("StartRequest"),
        ok: ref("StartedFailback"),
        okStatus: "201",
        errors: ["VALIDATION", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "INVALID_STATE", "THROTTLED"],
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
    ...Object.fromEntries(
      (Object.keys(sessionActions) as SessionActionName[]).map((name) => [
        `/api/v1/sessions/{id}/${name}`,
        sessionActionPath(name),
      ]),
    ),
  },
  components: {
    securitySchemes: {
      bearerToken: { type: "http", scheme: "bearer", description: "An API token, fbk_…" },
      signInCookie: {
        type: "apiKey",
        in: "cookie",
        name: "authjs.session-token",
        description: "The dashboard's sign-in; writes must come from the same origin.",
      },
    },
    schemas,
  },
} as const;
