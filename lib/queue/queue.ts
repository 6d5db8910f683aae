// The job queue: pg-boss on the product's own Postgres (schema `pgboss`). Two kinds of job:
// - `failback-item`: "work on this session item until it has to wait" — one queued job per item at most
//   (policy `short` with the item id as singleton key), any number of stale active ones (a dead worker's job
//   stays active until it expires; the item's lease, not the job, decides who may work).
// - `switch-schedule`: "the scheduled switch time of this schedule has come", sent with startAfter.
// Jobs are hints, like NOTIFY: the rows are the truth. A job lost between a commit and its send is sent again
// by the workers' sweep, and a job for work already done finds nothing to do.
import PgBoss from "pg-boss";

export const queueNames = { item: "failback-item", schedule: "switch-schedule" } as const;

export interface ItemJob {
  itemId: string;
}

export interface ScheduleJob {
  scheduleId: string;
}

/** An expired job is not stopped (the lease guards the work), so expiry only needs to outlast a long run. */
const JOB_EXPIRE_SECONDS = 23 * 3600; // pg-boss allows less than 24 h

export interface QueueOptions {
  databaseUrl: string;
  /** Idle workers poll this often; a NOTIFY nudge is not used, so this bounds pickup latency. */
  pollSeconds?: number;
  /** Run pg-boss's maintenance and clock monitoring in this process (workers do; the web app need not). */
  supervise?: boolean;
}

export class JobQueue {
  readonly boss: PgBoss;
  private started: Promise<void> | undefined;

  constructor(private readonly options: QueueOptions) {
    const supervise = options.supervise ?? true;
    this.boss = new PgBoss({
      connectionString: options.databaseUrl,
      max: 4,
      supervise,
      schedule: supervise,
      maintenanceIntervalSeconds: 60,
      application_name: "failback-queue",
    });
    // pg-boss reports connection trouble as events; without a listener they would crash the process.
    this.boss.on("error", (err) => console.error(`[queue] ${err.message}`));
  }

  start(): Promise<void> {
    this.started ??= (async () => {
      await this.boss.start();
      for (const name of Object.values(queueNames)) {
        if (await this.boss.getQueue(name)) continue;
        // Another process may create it at the same moment; what matters is that it exists afterwards.
        await this.boss
          .createQueue(name, { name, policy: "short", retryLimit: 0, expireInSeconds: JOB_EXPIRE_SECONDS })
          .catch(async (err) => {
            if (!(await this.boss.getQueue(name))) throw err;
          });
      }
    })();
    return this.started;
  }

  async sendItem(itemId: string): Promise<void> {
    await this.start();
    await this.boss.send(queueNames.item, { itemId } satisfies ItemJob, {
      singletonKey: itemId,
      retryLimit: 0,
      expireInSeconds: JOB_EXPIRE_SECONDS,
    });
  }

  async sendSchedule(scheduleId: string, runAt: Date): Promise<void> {
    await this.start();
    // The key includes the time, so a changed switch time gets its own job; the old one finds a time that
    // is no longer its own and does nothing.
    await this.boss.send(queueNames.schedule, { scheduleId } satisfies ScheduleJob, {
      singletonKey: `${scheduleId}@${runAt.toISOString()}`,
      startAfter: runAt,
      retryLimit: 3,
      retryDelay: 1,
      expireInSeconds: 600,
    });
  }

  async workItems(concurrency: number, handler: (job: ItemJob) => Promise<void>): Promise<void> {
    await this.start();
    for (let i = 0; i < concurrency; i++) {
      await this.boss.work<ItemJob>(
        queueNames.item,
        { batchSize: 1, pollingIntervalSeconds: this.options.pollSeconds ?? 1 },
        async ([job]) => {
          if (job) await handler(job.data);
        },
      );
    }
  }

  async workSchedules(handler: (job: ScheduleJob) => Promise<void>): Promise<void> {
    await this.start();
    await this.boss.work<ScheduleJob>(
      queueNames.schedule,
      { batchSize: 1, pollingIntervalSeconds: this.options.pollSeconds ?? 1 },
      async ([job]) => {
        if (job) await handler(job.data);
      },
    );
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.started.catch(() => {});
    // graceful: false — a running failback step is guarded by its lease and resumes from its checkpoint, so
    // shutting down need not wait for it.
    await this.boss.stop({ graceful: false, wait: true, timeout: 5000 }).catch(() => {});
  }
}
