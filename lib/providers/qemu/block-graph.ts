// Reading a running QEMU's block graph over QMP: which layer nodes a disk's chain runs on, which named nodes
// exist at all, and which of failback's own block jobs are in QEMU. Snapshot operations and reconcile compare
// these with vm.json.
import type { QmpClient } from "./qmp";
import { diskBackendPath } from "./vm-names";

/** The prefix of failback's live-merge job ids: `fb-commit-<node>` (snapshot-merge.ts). */
export const COMMIT_JOB_PREFIX = "fb-commit-";

/**
 * Nodes QEMU inserts by itself have no name of ours: their name is generated as `#block<N>`. A block-commit job
 * puts such a filter (commit_top / mirror_top) above the layer it commits from, for as long as the job exists.
 */
export const isImplicitNode = (name: string) => name.startsWith("#");

/**
 * The running VM's chain for a disk, as node names from the active (top) node down, from QEMU's block graph
 * (the block backend's root child, then backing children). Implicit filter nodes (`#blockN`, e.g. the one a
 * block-commit job puts above the layer it commits from) are passed through and left out: the chain holds the
 * layers only. null if the disk has no backend.
 */
export async function activeChainNodes(qmp: QmpClient, label: string): Promise<string[] | null> {
  interface Graph {
    nodes: { id: number; name: string; type: string }[];
    edges: { parent: number; child: number; name: string }[];
  }
  // x-debug-query-block-graph is the only QMP query that names backing children by node name (7.2).
  const graph = await qmp.execute<Graph>("x-debug-query-block-graph");
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const backend = graph.nodes.find((n) => n.type === "block-backend" && n.name === diskBackendPath(label));
  if (!backend) return null;
  const chain: string[] = [];
  const childOf = (parent: number, names: readonly string[]) =>
    graph.edges.find((e) => e.parent === parent && names.includes(e.name));
  let edge = childOf(backend.id, ["root"]);
  while (edge) {
    const node = byId.get(edge.child);
    if (!node) break;
    // A filter's single child is its "backing" (commit_top, mirror_top in 7.2) or "file" (other filters).
    if (isImplicitNode(node.name)) {
      edge = childOf(node.id, ["backing", "file"]);
      continue;
    }
    chain.push(node.name);
    edge = childOf(node.id, ["backing"]);
  }
  return chain;
}

/** Names of all named block nodes (including ones added but not attached). */
export async function namedNodes(qmp: QmpClient): Promise<Set<string>> {
  const nodes = await qmp.execute<{ "node-name": string }[]>("query-named-block-nodes", { flat: true });
  return new Set(nodes.map((n) => n["node-name"]));
}

export interface BlockJob {
  /** The job id (QEMU calls it `device` in query-block-jobs). */
  device: string;
  type: string;
  /** created, running, ready, standby, paused, waiting, pending, aborting, concluded, … */
  status: string;
  ready: boolean;
}

/** The block jobs QEMU has now. */
export const blockJobs = (qmp: QmpClient) => qmp.execute<BlockJob[]>("query-block-jobs");
