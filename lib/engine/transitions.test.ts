import { describe, expect, it } from "vitest";
import type { ItemState } from "@/lib/db/schema";
import { InvalidTransitionError, itemStateAfter, sessionStateOf } from "./transitions";
import { commitPlan, phase1Plan, phase2Plan } from "./plans";
import { snapshotNames } from "./names";

describe("item state machine", () => {
  it("walks the happy path of the behaviour page", () => {
    let s: ItemState = "pending";
    for (const e of ["phase1_started", "phase1_done", "switch_started", "switch_done", "commit_done"] as const)
      s = itemStateAfter(s, e);
    expect(s).toBe("committed");
  });

  it("refuses an engine event that does not fit the state with a typed error", () => {
    expect(() => itemStateAfter("committed", "phase1_started")).toThrow(InvalidTransitionError);
    expect(() => itemStateAfter("committed", "phase1_started")).toThrow(/committed: phase1 started/);
    try {
      itemStateAfter("ready_to_switch", "commit_done");
    } catch (err) {
      expect((err as InvalidTransitionError).code).toBe("INVALID_STATE");
    }
  });

  it("summarises a session by its least advanced live item, attention first", () => {
    expect(sessionStateOf(["ready_to_switch", "phase1"])).toBe("phase1");
    expect(sessionStateOf(["switched", "needs_attention"])).toBe("needs_attention");
    expect(sessionStateOf(["committed", "committed"])).toBe("committed");
    expect(sessionStateOf(["committed", "undone"])).toBe("undone");
    expect(sessionStateOf(["switched", "committed"])).toBe("switched");
  });
});

describe("step plans", () => {
  it("mirror the behaviour page's phase 1 for each target", () => {
    const original = phase1Plan({ target: "original", quickRollback: false, powerOnAfter: true }).map((s) => s.kind);
    expect(original).toEqual([
      "preflight_again",
      "power_off_production",
      "create_working_snapshot",
      "create_protective_snapshot",
      "calculate_difference",
      "transfer_changes",
      "commit_working_snapshot",
      "mark_replica_state",
    ]);
    const fresh = phase1Plan({ target: "new_location", quickRollback: false, powerOnAfter: true }).map((s) => s.kind);
    expect(fresh.slice(0, 2)).toEqual(["preflight_again", "create_vm_at_new_location"]);
    expect(fresh).toContain("transfer_all");
    expect(fresh).not.toContain("calculate_difference");
  });

  it("verify before anything runs on production, and skip what does not apply", () => {
    const plan = phase2Plan({ target: "original", quickRollback: false, powerOnAfter: false });
    const kinds = plan.map((s) => s.kind);
    expect(kinds.indexOf("verify_production")).toBeLessThan(kinds.indexOf("power_on_production"));
    expect(kinds.indexOf("shutdown_replica")).toBeLessThan(kinds.indexOf("transfer_changes_since_phase1"));
    expect(plan.find((s) => s.kind === "swap_identity")?.skipWhen).toBe("not_recovered_or_new");
    expect(plan.find((s) => s.kind === "power_on_production")?.skipWhen).toBe("no_power_on");
    expect(commitPlan().at(-1)).toMatchObject({ kind: "mark_replica_state", replicaState: "ready" });
  });

  it("names snapshots deterministically from the session", () => {
    const id = "0f1e2d3c-4b5a-6978-8a9b-acbdcedf0011";
    expect(snapshotNames(id)).toEqual({
      work1: "fb-0f1e2d3c4b5a-work1",
      protect1: "fb-0f1e2d3c4b5a-protect1",
      work2: "fb-0f1e2d3c4b5a-work2",
      protect2: "fb-0f1e2d3c4b5a-protect2",
    });
    expect(snapshotNames(id)).toEqual(snapshotNames(id.toUpperCase()));
  });
});
