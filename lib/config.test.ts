import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, derivedKey, loadConfig, masterKey } from "./config";

describe("configuration", () => {
  it("has sensible defaults", () => {
    const cfg = loadConfig({});
    expect(cfg.port).toBe(3000);
    expect(cfg.host).toBe("127.0.0.1");
    expect(cfg.databaseUrl).toBeUndefined();
    expect(cfg.dataDir).toBe(path.join(process.cwd(), ".data"));
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ FAILBACK_ADMIN_PASSWORD: "", PORT: "" }).port).toBe(3000);
  });

  it("names every bad variable", () => {
    try {
      loadConfig({
        PORT: "99999",
        DATABASE_URL: "mysql://x",
        FAILBACK_SECRET_KEY: "abc",
        FAILBACK_ADMIN_PASSWORD: "short",
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).issues.join("\n");
      for (const name of ["PORT", "DATABASE_URL", "FAILBACK_SECRET_KEY", "FAILBACK_ADMIN_PASSWORD"])
        expect(text).toContain(name);
    }
  });

  it("reads the sign-in throttle: growing waits, the former allowance names still counting under the new ones", () => {
    expect(loadConfig({}).signIn).toEqual({
      freeFailures: 5,
      clientFreeFailures: 20,
      delaySeconds: 1,
      maxDelaySeconds: 300,
      windowSeconds: 900,
    });
    const former = { FAILBACK_SIGNIN_MAX_PER_ACCOUNT: "4", FAILBACK_SIGNIN_MAX_PER_CLIENT: "40" };
    expect(loadConfig(former).signIn).toMatchObject({ freeFailures: 4, clientFreeFailures: 40 });
    const both = { ...former, FAILBACK_SIGNIN_FREE_FAILURES: "3", FAILBACK_SIGNIN_CLIENT_FREE_FAILURES: "30" };
    expect(loadConfig(both).signIn).toMatchObject({ freeFailures: 3, clientFreeFailures: 30 });
    const waits = { FAILBACK_SIGNIN_DELAY_SECONDS: "0.5", FAILBACK_SIGNIN_MAX_DELAY_SECONDS: "0.2" };
    expect(loadConfig(waits).signIn).toMatchObject({ delaySeconds: 0.5, maxDelaySeconds: 0.5 });
    expect(() => loadConfig({ FAILBACK_SIGNIN_FREE_FAILURES: "0" })).toThrow(/FAILBACK_SIGNIN_FREE_FAILURES/);
    expect(() => loadConfig({ FAILBACK_SIGNIN_DELAY_SECONDS: "0" })).toThrow(/FAILBACK_SIGNIN_DELAY_SECONDS/);
  });

  it("generates the secret key once into the data folder, and derives distinct purpose keys", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "failback-config-"));
    try {
      const cfg = loadConfig({ FAILBACK_DATA_DIR: dir });
      const first = masterKey(cfg);
      expect(first).toHaveLength(32);
      expect(fs.statSync(path.join(dir, "secret.key")).mode & 0o777).toBe(0o600);
      expect(masterKey(cfg).equals(first)).toBe(true);
      expect(derivedKey("auth", cfg).equals(derivedKey("secrets", cfg))).toBe(false);
      const fixed = loadConfig({ FAILBACK_DATA_DIR: dir, FAILBACK_SECRET_KEY: "ab".repeat(32) });
      expect(masterKey(fixed).toString("hex")).toBe("ab".repeat(32));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
