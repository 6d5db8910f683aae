// Power steps, each guarded so that production and its replica never run at the same time (I3).
import { PermanentStepError, type StepImpl } from "./step";
import { requireTarget } from "../context";

export const powerOffProduction: StepImpl = async ({ ctx }) => {
  const target = ctx.target;
  if (!target) return { skipped: true, detail: { why: "no production VM yet" } };
  const result = await target.provider.shutdownGuest(target.ext, {
    timeoutMs: ctx.session.shutdownTimeoutSeconds * 1000,
  });
  return { detail: { vm: target.vm.name, path: result.path, waitedMs: result.waitedMs } };
};

export const shutdownReplica: StepImpl = async ({ ctx, note }) => {
  const replica = ctx.replicaVm;
  const timeoutMs = ctx.session.shutdownTimeoutSeconds * 1000;
  const result = await replica.provider.shutdownGuest(replica.ext, { timeoutMs });
  if (result.path === "timeout_forced") {
    await note("replica.shutdown_timeout", { vm: replica.vm.name, timeoutMs });
  }
  return { detail: { vm: replica.vm.name, path: result.path, waitedMs: result.waitedMs } };
};

export const powerOnProduction: StepImpl = async ({ ctx }) => {
  const target = requireTarget(ctx);
  if (target.vm.retiredAt) throw new PermanentStepError(`${target.vm.name} is retired: the product never powers it on`);
  const replicaPower = await ctx.replicaVm.provider.powerState(ctx.replicaVm.ext);
  if (replicaPower !== "off")
    throw new PermanentStepError(
      `the replica ${ctx.replicaVm.vm.name} is ${replicaPower}: production stays off (never both running)`,
    );
  if ((await target.provider.powerState(target.ext)) === "running")
    return { detail: { vm: target.vm.name, already: true } };
  await target.provider.powerOn(target.ext);
  return { detail: { vm: target.vm.name } };
};

export const powerOnReplica: StepImpl = async ({ ctx }) => {
  const target = ctx.target;
  if (target && (await target.provider.powerState(target.ext)) !== "off") {
    throw new PermanentStepError(`production ${target.vm.name} is not off: the replica stays off (never both running)`);
  }
  const replica = ctx.replicaVm;
  if ((await replica.provider.powerState(replica.ext)) === "running")
    return { detail: { vm: replica.vm.name, already: true } };
  await replica.provider.powerOn(replica.ext);
  return { detail: { vm: replica.vm.name } };
};
