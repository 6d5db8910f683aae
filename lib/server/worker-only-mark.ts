// Marks a worker-only module family as loaded. The call is a side effect at module load, so a bundler keeps it
// (and the family's sentinel string with it) whenever any module of the family is in the bundle — even one whose
// exports are all unused and dropped. The web bundle check then finds the string.
const holder = globalThis as unknown as { failbackWorkerOnlyModules?: Set<string> };

export function markWorkerOnly(sentinel: string): void {
  (holder.failbackWorkerOnlyModules ??= new Set()).add(sentinel);
}
