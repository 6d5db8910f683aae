import { describe, expect, it } from "vitest";
import { storageDaemonPaths } from "./storage-daemon";

describe("socket paths", () => {
  it("stay within the unix socket limit for deep sites, deterministically, with the pid file kept in place", () => {
    const deep = `/tmp/${"a-very-long-folder-name/".repeat(4)}vms/e2e-06-replica/run`;
    const first = storageDaemonPaths(deep, "vda-read-at-fb-0123456789ab-protect1");
    const again = storageDaemonPaths(deep, "vda-read-at-fb-0123456789ab-protect1");
    const other = storageDaemonPaths(deep, "vda-write-fb-0123456789ab-work1");
    expect(Buffer.byteLength(first.socketPath)).toBeLessThanOrEqual(100);
    expect(Buffer.byteLength(first.qmpSocket)).toBeLessThanOrEqual(100);
    expect(first).toEqual(again);
    expect(other.socketPath).not.toBe(first.socketPath);
    expect(first.pidFile.startsWith(deep)).toBe(true);
    const shallow = storageDaemonPaths("/tmp/x/run", "vda-read");
    expect(shallow.socketPath).toBe("/tmp/x/run/nbd-vda-read.sock");
  });
});
