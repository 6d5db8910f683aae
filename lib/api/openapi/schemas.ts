// The shapes the API answers with (request bodies of commands come from the catalogue's input schemas).
import { itemStates, replicaStates, switchModes, targetKinds } from "@/lib/db/schema";
import { errorCodes } from "@/lib/errors";
import { dateTime, nullable, uuid, type Json } from "./building-blocks";

export const schemas: Json = {
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
  FailbackReview: {
    type: "object",
    properties: {
      ok: { type: "boolean", description: "Whether the failback could start now." },
      fieldErrors: {
        type: "object",
        additionalProperties: { type: "array", items: { type: "string" } },
        description: "Why it cannot start, by field (items.0.replicaId, switchAt.local, …).",
      },
      runAt: nullable(dateTime),
      preflight: { type: "array", items: { type: "object" } },
      plans: {
        type: "array",
        description: "Exactly the steps each replica will run, per phase.",
        items: { type: "object" },
      },
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
