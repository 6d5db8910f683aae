"use client";

import { ReplicaStateBadge } from "@/components/replicas/replica-state-badge";
import { FieldErrorText } from "@/components/ui/field";
import { formatBytes } from "@/components/ui/format";
import type { ReplicaState } from "@/lib/db/schema";
import type { TargetChoices } from "@/lib/db/queries/replicas";
import type { ErrorLookup, ItemDraft, TargetKind, WizardReplicaView } from "./wizard-model";

const control =
  "mt-1 block w-full rounded-md border-0 px-3 py-2 text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-inset focus:ring-teal-700 aria-[invalid=true]:ring-red-500";

function Input({
  id,
  label,
  errors,
  ...props
}: React.InputHTMLAttributes<HTMLInputElement> & { id: string; label: string; errors?: string[] }) {
  return (
    <div>
      <label htmlFor={id} className="block text-sm font-medium text-slate-700">
        {label}
      </label>
      <input
        id={id}
        className={control}
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={errors?.length ? `${id}-error` : undefined}
        {...props}
      />
      <FieldErrorText id={`${id}-error`} errors={errors} />
    </div>
  );
}

/** Where one replica goes home to: its original VM, a VM already recovered, or a new VM somewhere else. */
export function TargetFields({
  index,
  replica,
  draft,
  choices,
  errors,
  onChange,
}: {
  index: number;
  replica: WizardReplicaView;
  draft: ItemDraft;
  choices: TargetChoices;
  errors: ErrorLookup;
  onChange: (patch: Partial<ItemDraft>) => void;
}) {
  const key = (name: string) => `items.${index}.${name}`;
  const id = (name: string) => `item-${index}-${name}`;
  const targets: { value: TargetKind; label: string; hint: string }[] = [
    {
      value: "original",
      label: `Original VM (${replica.sourceVmName})`,
      hint: "Only the differences travel; quick rollback is possible.",
    },
    {
      value: "recovered",
      label: "A VM already recovered elsewhere",
      hint: "For example restored from a backup; only the differences travel.",
    },
    {
      value: "new_location",
      label: "A new VM at another location",
      hint: "Created from the replica's configuration; all data is copied.",
    },
  ];
  const replicaErrors = [
    ...(errors.at(key("replicaId")) ?? []),
    ...(errors.at(key("target")) ?? []),
    ...(errors.at(key("quickRollback")) ?? []),
  ];
  return (
    <fieldset
      data-testid="wizard-item"
      data-vm={replica.sourceVmName}
      className="rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200"
    >
      <legend className="sr-only">Target for {replica.sourceVmName}</legend>
      <div className="flex flex-wrap items-start justify-between gap-2">
        <div>
          <h3 className="text-base font-semibold">{replica.sourceVmName}</h3>
          <p className="text-xs text-slate-600">
            {replica.replicaVmName} · from {replica.sourceSiteName} · {replica.disks.length} disk
            {replica.disks.length === 1 ? "" : "s"}, {formatBytes(replica.sizeBytes)}
          </p>
        </div>
        <ReplicaStateBadge state={replica.state as ReplicaState} />
      </div>
      {replica.refusals.length ? (
        <ul className="mt-2 list-disc pl-5 text-sm text-red-800">
          {replica.refusals.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      ) : null}
      <FieldErrorText id={id("replica-error")} errors={replicaErrors.length ? replicaErrors : undefined} />

      <div
        role="radiogroup"
        aria-label={`Target for ${replica.sourceVmName}`}
        className="mt-3 grid gap-2 md:grid-cols-3"
      >
        {targets.map((t) => (
          <label
            key={t.value}
            className={`flex cursor-pointer gap-2 rounded-md p-3 text-sm ring-1 ${draft.target === t.value ? "bg-teal-50 ring-teal-600" : "ring-slate-200 hover:bg-slate-50"}`}
          >
            <input
              type="radio"
              name={id("target")}
              value={t.value}
              checked={draft.target === t.value}
              onChange={() => onChange({ target: t.value })}
              className="mt-0.5"
            />
            <span>
              <span className="block font-medium">{t.label}</span>
              <span className="block text-xs text-slate-600">{t.hint}</span>
            </span>
          </label>
        ))}
      </div>

      {draft.target === "recovered" ? (
        <div className="mt-3 max-w-md">
          <label htmlFor={id("recovered")} className="block text-sm font-medium text-slate-700">
            Recovered VM
          </label>
          <select
            id={id("recovered")}
            value={draft.recoveredVmId}
            onChange={(e) => onChange({ recoveredVmId: e.target.value })}
            className={control}
            aria-invalid={errors.at(key("recoveredVmId")) ? true : undefined}
            aria-describedby={errors.at(key("recoveredVmId")) ? `${id("recovered")}-error` : undefined}
          >
            <option value="">Choose a VM…</option>
            {choices.recoveredVms.map((vm) => (
              <option key={vm.id} value={vm.id}>
                {vm.name} ({vm.hostName}, {vm.siteName})
              </option>
            ))}
          </select>
          {choices.recoveredVms.length === 0 ? (
            <p className="mt-1 text-xs text-slate-600">No VM outside replication is in the inventory.</p>
          ) : null}
          <FieldErrorText id={`${id("recovered")}-error`} errors={errors.at(key("recoveredVmId"))} />
        </div>
      ) : null}

      {draft.target === "new_location" ? (
        <div className="mt-3 grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
          <div>
            <label htmlFor={id("host")} className="block text-sm font-medium text-slate-700">
              Host
            </label>
            <select
              id={id("host")}
              value={draft.hostId}
              onChange={(e) => onChange({ hostId: e.target.value })}
              className={control}
              aria-invalid={errors.under(key("newLocation.hostId")).length ? true : undefined}
              aria-describedby={errors.under(key("newLocation.hostId")).length ? `${id("host")}-error` : undefined}
            >
              <option value="">Choose a host…</option>
              {choices.hosts.map((h) => (
                <option key={h.id} value={h.id}>
                  {h.name} ({h.siteName})
                </option>
              ))}
            </select>
            <FieldErrorText
              id={`${id("host")}-error`}
              errors={[...(errors.at(key("newLocation")) ?? []), ...(errors.at(key("newLocation.hostId")) ?? [])]}
            />
          </div>
          <Input
            id={id("name")}
            label="New VM name"
            value={draft.name}
            onChange={(e) => onChange({ name: e.target.value })}
            errors={errors.at(key("newLocation.name"))}
          />
          <Input
            id={id("network")}
            label="Network (optional)"
            value={draft.network}
            placeholder="as on the replica"
            onChange={(e) => onChange({ network: e.target.value })}
            errors={errors.at(key("newLocation.network"))}
          />
          <Input
            id={id("cpus")}
            label="CPUs"
            type="number"
            min={1}
            max={64}
            value={draft.cpus}
            onChange={(e) => onChange({ cpus: e.target.value })}
            errors={errors.at(key("newLocation.cpus"))}
          />
          <Input
            id={id("memory")}
            label="Memory (MiB)"
            type="number"
            min={16}
            value={draft.memoryMib}
            onChange={(e) => onChange({ memoryMib: e.target.value })}
            errors={errors.at(key("newLocation.memoryMib"))}
          />
        </div>
      ) : null}
    </fieldset>
  );
}
