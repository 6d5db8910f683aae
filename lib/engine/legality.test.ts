// The legality rules as a table: for every item state (idle, and with the plans and flags that change the
// answer), exactly which commands are allowed. The engine refuses with these rules and the dashboard shows
// buttons with them (lib/commands/catalog.test.ts checks both against this same function).
import { describe, expect, it } from "vitest";
import { itemStates, type ItemState } from "@/lib/db/schema";
import {
  allowedItemCommands,
  itemsForSessionCommand,
  scheduleAllows,
  sessionCommandsAllowed,
  undoPlanFor,
  type ItemCommand,
  type ItemFacts,
} from "./legality";

const idle = (state: ItemState, more: Partial<ItemFacts> = {}): ItemFacts => ({
  state,
  activePlan: null,
  resumeState: null,
  switchRequested: false,
  cancelRequested: false,
  ...more,
});

/** Every state idle (no plan running, no flag set), as the behaviour page allows commands. */
const idleTable: Record<ItemState, ItemCommand[]> = {
  pending: ["switch_when_synced", "cancel"],
  phase1: ["cancel"],
  ready_to_switch: ["switch_now", "undo"],
  switching: [],
  switched: ["commit", "undo"],
  committed: [],
  undone: [],
  cancelled: [],
  needs_attention: ["undo"],
};

/** The cases where a running plan, a request already made or where a VM stopped change the answer. */
const specialCases: [string, ItemFacts, ItemCommand[]][] = [
  ["phase 1 running", idle("phase1", { activePlan: "phase1" }), ["switch_when_synced", "cancel"]],
  ["phase 1 running, switch asked", idle("phase1", { activePlan: "phase1", switchRequested: true }), ["cancel"]],
  ["phase 1 running, cancel asked", idle("phase1", { activePlan: "phase1", cancelRequested: true }), []],
  ["cancel running", idle("phase1", { activePlan: "cancel_phase1" }), []],
  ["ready, switch asked", idle("ready_to_switch", { switchRequested: true }), ["undo"]],
  ["ready, undo running", idle("ready_to_switch", { activePlan: "undo_before_switch" }), []],
  ["switched, commit running", idle("switched", { activePlan: "commit" }), []],
  [
    "stopped in phase 1",
    idle("needs_attention", { activePlan: "phase1", resumeState: "phase1" }),
    ["undo", "cancel", "retry"],
  ],
  [
    "stopped at the switch",
    idle("needs_attention", { activePlan: "phase2", resumeState: "switching" }),
    ["undo", "retry"],
  ],
  ["stopped, nothing to retry", idle("needs_attention", { resumeState: "switching" }), ["undo"]],
];

describe("legality of operator commands", () => {
  it.each(itemStates)("%s, idle: exactly the commands the behaviour allows", (state) => {
    expect(allowedItemCommands(idle(state))).toEqual(idleTable[state]);
  });

  it.each(specialCases)("%s", (_name, item, expected) => {
    expect(allowedItemCommands(item)).toEqual(expected);
  });

  it("chooses the undo that fits where the item stands", () => {
    expect(undoPlanFor(idle("switched"))).toBe("undo_after_switch");
    expect(undoPlanFor(idle("ready_to_switch"))).toBe("undo_before_switch");
    expect(undoPlanFor(idle("needs_attention", { resumeState: "switching" }))).toBe("undo_after_switch");
    expect(undoPlanFor(idle("needs_attention", { resumeState: "phase1" }))).toBe("cancel_phase1");
    expect(undoPlanFor(idle("needs_attention", { resumeState: "ready_to_switch" }))).toBe("undo_before_switch");
    expect(undoPlanFor(idle("needs_attention", { activePlan: "undo_after_switch", resumeState: "switched" }))).toBe(
      "undo_after_switch",
    );
  });

  it("session-wide switch now takes phase-1 VMs too, unless the session switches by itself", () => {
    const items = [idle("ready_to_switch"), idle("phase1", { activePlan: "phase1" }), idle("switched")];
    expect(itemsForSessionCommand({ switchMode: "manual" }, items, "switch_now")).toHaveLength(2);
    expect(itemsForSessionCommand({ switchMode: "auto" }, items, "switch_now")).toHaveLength(1);
    expect(
      sessionCommandsAllowed({ switchMode: "auto" }, null, [idle("phase1", { activePlan: "phase1" })]).switchNow,
    ).toBe(false);
  });

  it("a schedule can be changed while it is pending and a VM waits; cancelled while pending", () => {
    const scheduled = { switchMode: "scheduled" as const };
    const waiting = [{ state: "phase1" as const }];
    const done = [{ state: "switched" as const }];
    expect(scheduleAllows(scheduled, { state: "pending" }, waiting, "change_switch_time")).toBe(true);
    expect(scheduleAllows(scheduled, { state: "pending" }, done, "change_switch_time")).toBe(false);
    expect(scheduleAllows(scheduled, { state: "pending" }, done, "cancel_schedule")).toBe(true);
    expect(scheduleAllows(scheduled, { state: "started" }, waiting, "cancel_schedule")).toBe(false);
    expect(scheduleAllows({ switchMode: "manual" }, null, waiting, "cancel_schedule")).toBe(false);
  });
});
