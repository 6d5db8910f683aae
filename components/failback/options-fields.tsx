"use client";

import { FieldErrorText } from "@/components/ui/field";
import { utcText } from "@/components/ui/format";
import { TimeZoneSelect } from "@/components/ui/time-zone-select";
import { formatInZone, previewUtc } from "@/components/ui/zoned-time";
import type { ErrorLookup, SwitchMode, WizardDraft, WizardReplicaView } from "./wizard-model";

const control =
  "mt-1 block w-full rounded-md border-0 px-3 py-2 text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-inset focus:ring-teal-700 aria-[invalid=true]:ring-red-500";

const modes: { value: SwitchMode; label: string; hint: string }[] = [
  { value: "auto", label: "Automatically", hint: "Each VM switches right after its phase 1." },
  {
    value: "scheduled",
    label: "At a scheduled time",
    hint: "All VMs switch at one moment (a VM still syncing switches when its phase 1 ends).",
  },
  { value: "manual", label: "Manually", hint: "Each VM waits, ready to switch, until someone presses Switch now." },
];

function describe(id: string, errors: string[] | undefined) {
  return {
    "aria-invalid": errors?.length ? true : undefined,
    "aria-describedby": errors?.length ? `${id}-error` : undefined,
  } as const;
}

/** The session-wide choices: quick rollback, switch mode and time, power on, shutdown timeout, reason. */
export function OptionsFields({
  draft,
  replicas,
  zones,
  timeZone,
  effectiveZone,
  errors,
  onChange,
  onZoneChange,
}: {
  draft: WizardDraft;
  replicas: WizardReplicaView[];
  zones: string[];
  timeZone: string | null;
  effectiveZone: string;
  errors: ErrorLookup;
  onChange: (patch: Partial<WizardDraft>) => void;
  onZoneChange: (zone: string) => void;
}) {
  // Quick rollback needs the original VM as target and intact change tracking since the latest restore point.
  const unavailable = replicas.flatMap((r, i) => {
    if (draft.items[i]?.target !== "original")
      return [`${r.sourceVmName}: quick rollback needs the original VM as the target.`];
    return r.quickRollback.allowed ? [] : [`${r.sourceVmName}: ${r.quickRollback.reason ?? "not available."}`];
  });
  const quickRollbackAllowed = unavailable.length === 0;
  const utc = draft.switchMode === "scheduled" ? previewUtc(draft.switchLocal, effectiveZone) : null;
  const localErrors = [...(errors.at("switchAt") ?? []), ...(errors.at("switchAt.local") ?? [])];
  return (
    <div className="space-y-6 rounded-lg bg-white p-4 shadow-sm ring-1 ring-slate-200">
      <div>
        <label className={`inline-flex items-start gap-2 text-sm ${quickRollbackAllowed ? "" : "text-slate-500"}`}>
          <input
            type="checkbox"
            checked={draft.quickRollback && quickRollbackAllowed}
            disabled={!quickRollbackAllowed}
            onChange={(e) => onChange({ quickRollback: e.target.checked })}
            className="mt-0.5 rounded border-slate-300"
          />
          <span>
            <span className="block font-medium text-slate-800">Quick rollback</span>
            <span className="block text-xs text-slate-600">
              Compare only the regions changed since failover (by change tracking) instead of every block.
            </span>
          </span>
        </label>
        {unavailable.length ? (
          <ul data-testid="quick-rollback-unavailable" className="mt-2 list-disc pl-9 text-xs text-slate-600">
            {unavailable.map((reason) => (
              <li key={reason}>Unavailable for {reason}</li>
            ))}
          </ul>
        ) : null}
        <FieldErrorText id="quickRollback-error" errors={errors.at("quickRollback")} />
      </div>

      <fieldset>
        <legend className="text-sm font-medium text-slate-800">Switch to production</legend>
        <div role="radiogroup" aria-label="Switch mode" className="mt-2 grid gap-2 md:grid-cols-3">
          {modes.map((m) => (
            <label
              key={m.value}
              className={`flex cursor-pointer gap-2 rounded-md p-3 text-sm ring-1 ${draft.switchMode === m.value ? "bg-teal-50 ring-teal-600" : "ring-slate-200 hover:bg-slate-50"}`}
            >
              <input
                type="radio"
                name="switchMode"
                value={m.value}
                checked={draft.switchMode === m.value}
                onChange={() => onChange({ switchMode: m.value })}
                className="mt-0.5"
              />
              <span>
                <span className="block font-medium">{m.label}</span>
                <span className="block text-xs text-slate-600">{m.hint}</span>
              </span>
            </label>
          ))}
        </div>
        <FieldErrorText id="switchMode-error" errors={errors.at("switchMode")} />
        {draft.switchMode === "scheduled" ? (
          <div className="mt-3 grid gap-3 sm:grid-cols-2">
            <div>
              <label htmlFor="switchAt-local" className="block text-sm font-medium text-slate-700">
                Switch at
              </label>
              <input
                id="switchAt-local"
                type="datetime-local"
                step={1}
                value={draft.switchLocal}
                onChange={(e) => onChange({ switchLocal: e.target.value })}
                className={control}
                {...describe("switchAt-local", localErrors)}
              />
              <FieldErrorText id="switchAt-local-error" errors={localErrors.length ? localErrors : undefined} />
            </div>
            <div>
              <label htmlFor="switchAt-timeZone" className="block text-sm font-medium text-slate-700">
                Time zone
              </label>
              <TimeZoneSelect
                id="switchAt-timeZone"
                zones={zones}
                value={timeZone}
                onChange={onZoneChange}
                invalid={Boolean(errors.at("switchAt.timeZone"))}
                describedBy={errors.at("switchAt.timeZone") ? "switchAt-timeZone-error" : undefined}
              />
              <FieldErrorText id="switchAt-timeZone-error" errors={errors.at("switchAt.timeZone")} />
            </div>
            <p className="text-xs text-slate-600 sm:col-span-2" data-testid="switch-utc-preview">
              {utc
                ? `${formatInZone(utc, effectiveZone, utc.getUTCSeconds() !== 0)} in ${effectiveZone} is ${utcText(utc)}.`
                : "Enter the date and time the switch should happen."}
            </p>
          </div>
        ) : null}
      </fieldset>

      <div className="grid gap-4 sm:grid-cols-2">
        <label className="inline-flex items-start gap-2 text-sm">
          <input
            type="checkbox"
            checked={draft.powerOnAfter}
            onChange={(e) => onChange({ powerOnAfter: e.target.checked })}
            className="mt-0.5 rounded border-slate-300"
          />
          <span>
            <span className="block font-medium text-slate-800">Power on production after the switch</span>
            <span className="block text-xs text-slate-600">Only after verification passed.</span>
          </span>
        </label>
        <div>
          <label htmlFor="shutdownMinutes" className="block text-sm font-medium text-slate-700">
            Guest shutdown timeout (minutes)
          </label>
          <input
            id="shutdownMinutes"
            type="number"
            min={0}
            step="any"
            value={draft.shutdownMinutes}
            onChange={(e) => onChange({ shutdownMinutes: e.target.value })}
            className={control}
            {...describe("shutdownMinutes", errors.at("shutdownTimeoutSeconds"))}
          />
          <p className="mt-1 text-xs text-slate-600">
            How long the replica&apos;s guest may take to shut down before it is powered off.
          </p>
          <FieldErrorText id="shutdownMinutes-error" errors={errors.at("shutdownTimeoutSeconds")} />
        </div>
      </div>

      <div>
        <label htmlFor="reason" className="block text-sm font-medium text-slate-700">
          Reason (optional, kept in the audit log)
        </label>
        <textarea
          id="reason"
          rows={2}
          maxLength={2000}
          value={draft.reason}
          onChange={(e) => onChange({ reason: e.target.value })}
          className={control}
          {...describe("reason", errors.at("reason"))}
        />
        <FieldErrorText id="reason-error" errors={errors.at("reason")} />
      </div>
    </div>
  );
}
