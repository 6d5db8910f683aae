// failback replicas [--state S] [--site NAME] [--name PART]: the replicas, as a table or JSON.
import type { Replica } from "../api-types";
import { stringOption, type Command } from "../command";
import { replicasTable } from "../format";

export const replicas: Command = {
  name: "replicas",
  summary: "List replicas (filter by --state, --site, --name).",
  help: `failback replicas [--state ready|failover|ready_to_switch|failback] [--site NAME] [--name PART] [--json]`,
  options: { state: { type: "string" }, site: { type: "string" }, name: { type: "string" } },
  async run({ out, values, client }) {
    const query = new URLSearchParams();
    for (const key of ["state", "site", "name"]) {
      const value = stringOption(values, key);
      if (value !== undefined) query.set(key, value);
    }
    const { replicas: rows } = await client().get<{ replicas: Replica[] }>(
      `/api/v1/replicas${query.size ? `?${query}` : ""}`,
    );
    out.result(rows, () => replicasTable(rows));
  },
};
