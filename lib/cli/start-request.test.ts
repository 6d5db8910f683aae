import { describe, expect, it } from "vitest";
import { CliError } from "./cli-error";
import { startRequestFrom } from "./start-request";

const a = "11111111-1111-4111-8111-111111111111";
const b = "22222222-2222-4222-8222-222222222222";

describe("startRequestFrom", () => {
  it("defaults to the original VM, manual switching and power on", () => {
    expect(startRequestFrom({}, [a], "Europe/Berlin")).toEqual({
      items: [{ replicaId: a, target: "original" }],
      quickRollback: false,
      switchMode: "manual",
      powerOnAfter: true,
    });
  });

  it("carries every option: schedule in a zone, quick rollback, no power-on, timeout, reason", () => {
    const body = startRequestFrom(
      {
        at: "2099-01-02T03:04",
        zone: "Asia/Tokyo",
        "quick-rollback": true,
        "no-power-on": true,
        "shutdown-timeout": "60",
        reason: "DR drill",
      },
      [a, b],
      "Europe/Berlin",
    );
    expect(body).toEqual({
      items: [
        { replicaId: a, target: "original" },
        { replicaId: b, target: "original" },
      ],
      quickRollback: true,
      switchMode: "scheduled",
      switchAt: { local: "2099-01-02T03:04", timeZone: "Asia/Tokyo" },
      powerOnAfter: false,
      shutdownTimeoutSeconds: 60,
      reason: "DR drill",
    });
  });

  it("pairs per-VM options with the replicas in order; one --new-host serves all", () => {
    const recovered = startRequestFrom({ target: "recovered", "recovered-vm": [b, a] }, [a, b], "UTC");
    expect((recovered.items as unknown[])[1]).toEqual({ replicaId: b, target: "recovered", recoveredVmId: a });
    const moved = startRequestFrom(
      { target: "new_location", "new-host": [a], "new-name": ["x-1", "x-2"], "new-cpus": "2" },
      [a, b],
      "UTC",
    );
    expect((moved.items as unknown[])[1]).toEqual({
      replicaId: b,
      target: "new_location",
      newLocation: { hostId: a, name: "x-2", cpus: 2 },
    });
  });

  it.each([
    ["no replica", {}, []],
    ["an unknown target", { target: "moon" }, [a]],
    ["a scheduled switch without --at", { switch: "scheduled" }, [a]],
    ["--at without a scheduled switch", { switch: "manual", at: "2099-01-01T00:00" }, [a]],
    ["a recovered VM missing for one replica", { target: "recovered", "recovered-vm": [a] }, [a, b]],
    ["a negative timeout", { "shutdown-timeout": "-1" }, [a]],
    ["a fractional timeout", { "shutdown-timeout": "1.5" }, [a]],
  ])("refuses %s as a usage error", (_what, values, ids) => {
    expect(() => startRequestFrom(values, ids as string[], "UTC")).toThrow(CliError);
    try {
      startRequestFrom(values, ids as string[], "UTC");
    } catch (err) {
      expect((err as CliError).exitCode).toBe(2);
    }
  });
});
