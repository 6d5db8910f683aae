// One failback through SSH, for real: the lab's libvirt hosts registered as qemu+ssh://root@127.0.0.1:PORT/system
// (this machine's own sshd, a key made for the test), and the worker a separate process in a mount namespace where
// the lab's folder — every disk image of both sites — is hidden. A step that reached a disk without SSH would
// not find it. After the switch production equals the replica at switch time (I1); then commit.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eq, inArray } from "drizzle-orm";
import { inject } from "vitest";
import type { Database, Db } from "@/lib/db/client";
import { hosts, sites } from "@/lib/db/schema";
import { describeWithLibvirt, describeWithSshd } from "@/lib/testing/libvirt";
import { startTestSshd, type TestSshd } from "@/lib/testing/sshd";
import { testDatabase } from "@/lib/testing/db";
import { Engine } from "./index";
import { configureProviders } from "./providers";
import { inProcessServices } from "./worker-main";
import { sameContent, snapshotCopy, testGuestCacheDir, waitForItem } from "./testing/harness";
import { createLibvirtTestLab, libvirtTopFile, type LibvirtTestLab } from "./testing/libvirt-lab";
import { spawnWorker, type WorkerProcess } from "./testing/worker-process";

const admin = { userId: null, label: "test-admin" };

describeWithLibvirt("failback through SSH", () => {
  describeWithSshd("a worker that sees no disk of either site", () => {
    let database: Database | undefined;
    let db: Db;
    let sshd: TestSshd | undefined;
    let lab: LibvirtTestLab | undefined;
    let worker: WorkerProcess | undefined;
    let engine: Engine | undefined;
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "fbssh-data-"));

    beforeAll(async () => {
      database = testDatabase();
      db = database.db;
      sshd = await startTestSshd();
      lab = await createLibvirtTestLab(db, [
        { id: "ssh-vm", name: "ssh-vm", tinyGuest: false, guestAgent: false, diskUnits: [1] },
      ]);
      // Both sites' hosts now reach the daemon through SSH only.
      const siteRows = await db
        .select({ id: sites.id })
        .from(sites)
        .where(inArray(sites.name, [lab.siteNames.production, lab.siteNames.dr]));
      const hostRows = await db
        .select()
        .from(hosts)
        .where(
          inArray(
            hosts.siteId,
            siteRows.map((s) => s.id),
          ),
        );
      for (const host of hostRows)
        await db
          .update(hosts)
          .set({ connection: { ...host.connection, uri: sshd.uri } })
          .where(eq(hosts.id, host.id));
      // The check's facts are collected in this process (which can see the folder, but goes through SSH too).
      configureProviders({ guestCacheDir: testGuestCacheDir() });
      engine = new Engine({ db, databaseUrl: inject("databaseUrl"), services: inProcessServices(db) });
      worker = await spawnWorker({ databaseUrl: inject("databaseUrl"), dataDir, hiddenFolder: lab.dir });
    }, 300_000);

    afterAll(async () => {
      worker?.signal("SIGTERM");
      await worker?.exited;
      await engine?.close();
      await lab?.cleanup();
      await sshd?.stop();
      await database?.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }, 120_000);

    it("fails back the original VM with an automatic switch, then commits", async () => {
      const l = lab as LibvirtTestLab;
      const replicaId = l.replicaIds["ssh-vm"] as string;
      const sourceVm = l.sourceVmIds["ssh-vm"] as string;
      const replicaVm = l.replicaVmIds["ssh-vm"] as string;
      const session = await (engine as Engine).start(admin, {
        items: [{ replicaId, target: "original" }],
        switchMode: "auto",
        powerOnAfter: false,
        shutdownTimeoutSeconds: 3,
        reason: "test: failback through SSH",
      });
      const itemId = session.itemIds[0] as string;
      await waitForItem(db, itemId, ["switched"], 240_000);
      const replicaAtSwitch = await snapshotCopy(
        await libvirtTopFile(l.dr, replicaVm, "vda"),
        path.join(dataDir, "replica-at-switch.qcow2"),
      );
      const compared = await sameContent(await libvirtTopFile(l.production, sourceVm, "vda"), replicaAtSwitch);
      expect(compared, compared.output).toMatchObject({ same: true });

      await (engine as Engine).commit(admin, session.sessionId);
      await waitForItem(db, itemId, ["committed"], 120_000);
      expect(await l.production.listSnapshots(sourceVm)).toEqual([]);
      // The worker really could not see the disks: the folder is empty in its namespace.
      const hidden = fs.readdirSync(`/proc/${(worker as WorkerProcess).pid}/root${l.dir}`);
      expect(hidden).toEqual([]);
      expect(fs.readdirSync(l.dir).length).toBeGreaterThan(0);
    }, 420_000);
  });
});
