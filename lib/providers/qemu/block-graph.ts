// Reading a running QEMU's block graph over QMP: which layer nodes a disk's chain runs on, and which named
// nodes exist at all. Snapshot operations and reconcile compare these with vm.json.
import type { QmpClient } from "./qmp";
import { diskBackendPath } from "./vm-names";

/**
 * The running VM's chain for a disk, as node names from the active (top) node down, from QEMU's block graph
 * (the block backend's root child, then backing children). null if the disk has no backend.
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
  let edge = graph.edges.find((e) => e.parent === backend.id && e.name === "root");
  while (edge) {
    const node = byId.get(edge.child);
    if (!node) break;
    chain.push(node.name);
    edge = graph.edges.find((e) => e.parent === node.id && e.name === "backing");
  }
  return chain;
}

/** Names of all named block nodes (including ones added but not attached). */
export async function namedNodes(qmp: QmpClient): Promise<Set<string>> {
  const nodes = await qmp.execute<{ "node-name": string }[]>("query-named-block-nodes", { flat: true });
  return new Set(nodes.map((n) => n["node-name"]));
}
