// Deterministic names: a retried or resumed step derives the same snapshot and export names from the session,
// so it finds its own work on the hypervisor instead of making a second copy.
export function sessionTag(sessionId: string): string {
  const hex = sessionId.replace(/-/g, "").toLowerCase();
  if (!/^[0-9a-f]{12,}$/.test(hex)) throw new Error(`not a session id: ${sessionId}`);
  return hex.slice(0, 12);
}

export const snapshotNames = (sessionId: string) => {
  const tag = sessionTag(sessionId);
  return {
    /** Production, phase 1: takes everything phase 1 writes. */
    work1: `fb-${tag}-work1`,
    /** Replica, phase 1: freezes the replica at t1 while it keeps running. */
    protect1: `fb-${tag}-protect1`,
    /** Production, phase 2. */
    work2: `fb-${tag}-work2`,
    /** Replica, phase 2: the replica at switch time; undo returns here, commit keeps it as a restore point. */
    protect2: `fb-${tag}-protect2`,
  };
};
