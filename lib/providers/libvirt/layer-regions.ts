// What one overlay holds (its own allocated clusters, its backing ignored): exactly what was written into it
// since it was made. qemu-img map on the host; -U because the overlay is usually a running domain's top layer.
import { mergeRegions } from "../chain-export/disk-handle";
import type { Region } from "../types";
import type { LibvirtHost } from "./host";

interface MapEntry {
  start: number;
  length: number;
  present?: boolean;
  data: boolean;
}

export async function layerRegions(host: LibvirtHost, file: string): Promise<Region[]> {
  const alone = `json:${JSON.stringify({ driver: "qcow2", backing: null, file: { driver: "file", filename: file } })}`;
  const { stdout } = await host.qemuImg(["map", "--output=json", "-U", alone]);
  const entries = JSON.parse(stdout) as MapEntry[];
  return mergeRegions(entries.filter((e) => e.present ?? e.data).map((e) => ({ offset: e.start, length: e.length })));
}
