// The engine's refusals and the dashboard's buttons come from one legality function: for every item state (and
// the plans and flags that change the answer), a VM of a real session in that state is offered exactly the
// buttons `itemAllows` allows, and the engine accepts exactly those commands and refuses the others with
// INVALID_STATE. Each engine command runs in a transaction that is rolled back, so one session serves all.
import { renderToStaticMarkup } from "react-dom/server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { fabricateSession, finishFabricated, userWithToken, type FabricatedSession } from "@/lib/api/testing/fixtures";
import { failbackItems, itemStates, type FailbackItem, type ItemState } from "@/lib/db/schema";
import { getSessionDetail } from "@/lib/db/queries/sessions";
import { cancel, commit, retry, switchNow, undo } from "@/lib/engine/commands/item-commands";
import { itemAllows, type ItemCommand, type ItemFacts } from "@/lib/engine/legality";
import { testDatabase } from "@/lib/testing/db";

// The buttons' server action is imported, never called here: the sign-in behind it is not loaded.
vi.mock("@/lib/auth/actor", () => ({ currentActor: async () => null }));
vi.mock("next/headers", () => ({ headers: async () => new Headers() }));
vi.mock("next/cache", () => ({ revalidatePath: () => {} }));

const database = testDatabase();
const { db } = database;
const made: FabricatedSession[] = [];
let createdBy: string;

beforeAll(async () => {
  createdBy = (await userWithToken(db, "operator", "legality")).user.id;
});
afterAll(async () => {
  await finishFabricated(db, made);
  await database.close();
});

type Case = [string, Omit<ItemFacts, "state"> & { state: ItemState }];
const idle = { activePlan: null, resumeState: null, switchRequested: false, cancelRequested: false };
const cases: Case[] = [
  ...itemStates.map((state): Case => [`${state}, idle`, { ...idle, state }]),
  ["phase 1 running", { ...idle, state: "phase1", activePlan: "phase1" }],
  ["phase 1 running, cancel asked", { ...idle, state: "phase1", activePlan: "phase1", cancelRequested: true }],
  ["ready, switch asked", { ...idle, state: "ready_to_switch", switchRequested: true }],
  ["switched, commit running", { ...idle, state: "switched", activePlan: "commit" }],
  ["stopped in phase 1", { ...idle, state: "needs_attention", activePlan: "phase1", resumeState: "phase1" }],
  ["stopped at the switch", { ...idle, state: "needs_attention", activePlan: "phase2", resumeState: "switching" }],
];

/** The engine's commands by legality name, for one VM. */
const engineCommands: Record<Exclude<ItemCommand, "switch_when_synced">, typeof commit> = {
  switch_now: switchNow,
  commit,
  undo,
  cancel,
  retry,
};

/** The buttons the VM's card shows, by the label each command's button carries. */
const buttonLabels: Record<Exclude<ItemCommand, "switch_when_synced">, string> = {
  switch_now: "Switch this VM now",
  commit: "Commit this VM",
  undo: "Undo this VM",
  cancel: "Cancel this VM",
  retry: "Retry the stopped step",
};

class RolledBack extends Error {}

/** Whether the engine takes the command for this item; the transaction is rolled back either way. */
async function engineAccepts(command: keyof typeof engineCommands, s: FabricatedSession): Promise<boolean> {
  try {
    await db.transaction(async (tx) => {
      await engineCommands[command](
        tx,
        { userId: createdBy, label: "legality test" },
        {
          sessionId: s.session.id,
          itemId: s.item.id,
        },
      );
      throw new RolledBack();
    });
  } catch (err) {
    if (err instanceof RolledBack) return true;
    expect((err as { code?: string }).code, String(err)).toBe("INVALID_STATE");
    return false;
  }
  return true;
}

describe.each(cases)("a VM %s", (_name, facts) => {
  let session: FabricatedSession;
  let item: FailbackItem;

  beforeAll(async () => {
    session = await fabricateSession(db, { state: facts.state, createdBy, activePlan: facts.activePlan });
    made.push(session);
    const [row] = await db
      .update(failbackItems)
      .set({
        resumeState: facts.resumeState,
        switchRequested: facts.switchRequested,
        cancelRequested: facts.cancelRequested,
      })
      .where(eq(failbackItems.id, session.item.id))
      .returning();
    item = row as FailbackItem;
  });

  it("is offered exactly the buttons legality allows, and the engine takes exactly those", async () => {
    const { ItemControls } = await import("@/components/sessions/session-controls");
    const detail = await getSessionDetail(db, session.session.id);
    const shown = detail?.items[0];
    if (!detail || !shown) throw new Error("fabricated session not found");
    const everything = { switch: true, commit: true, undo: true, cancel: true, retry: true, schedule: true };
    const html = renderToStaticMarkup(<ItemControls session={detail.session} item={shown} several can={everything} />);
    for (const command of Object.keys(engineCommands) as (keyof typeof engineCommands)[]) {
      const allowed = itemAllows(item, command);
      expect([command, html.includes(`>${buttonLabels[command]}<`)]).toEqual([command, allowed]);
      expect([command, await engineAccepts(command, session)]).toEqual([command, allowed]);
    }
  });
});
