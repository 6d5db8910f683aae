"use client";

import { useActionState, useState } from "react";
import { commandAction } from "@/lib/actions/command-action";

const changeSwitchTime = commandAction("reschedule");
import { FieldErrorText } from "@/components/ui/field";
import { FormMessage } from "@/components/ui/form-message";
import { SubmitButton } from "@/components/ui/submit-button";
import { TimeZoneSelect } from "@/components/ui/time-zone-select";
import { utcText } from "@/components/ui/format";
import { previewUtc } from "@/components/ui/zoned-time";

/** A new local time in an explicit zone; the UTC instant it means is shown before it is sent. */
export function ChangeSwitchTimeForm({
  sessionId,
  local,
  timeZone,
  zones,
}: {
  sessionId: string;
  local: string;
  timeZone: string;
  zones: string[];
}) {
  const [result, formAction] = useActionState(changeSwitchTime, null);
  const [value, setValue] = useState(local);
  const [zone, setZone] = useState<string | null>(timeZone);
  const errors = result && !result.ok ? result.fieldErrors : undefined;
  const utc = zone ? previewUtc(value, zone) : null;
  const prefix = `switch-${sessionId}`;
  return (
    <details className="group rounded-md ring-1 ring-slate-200 open:bg-slate-50">
      <summary className="cursor-pointer list-none px-3 py-2 text-sm font-medium text-teal-800">
        Change switch time
      </summary>
      <form action={formAction} className="grid gap-3 px-3 pb-3 sm:grid-cols-2" aria-label="Change switch time">
        <input type="hidden" name="sessionId" value={sessionId} />
        <div>
          <label htmlFor={`${prefix}-local`} className="block text-sm font-medium text-slate-700">
            New switch time
          </label>
          <input
            id={`${prefix}-local`}
            name="local"
            type="datetime-local"
            step={1}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            required
            aria-invalid={errors?.local ? true : undefined}
            aria-describedby={errors?.local ? `${prefix}-local-error` : undefined}
            className="mt-1 block w-full rounded-md border-0 px-3 py-2 text-sm ring-1 ring-inset ring-slate-300 aria-[invalid=true]:ring-red-500"
          />
          <FieldErrorText id={`${prefix}-local-error`} errors={errors?.local} />
        </div>
        <div>
          <label htmlFor={`${prefix}-zone`} className="block text-sm font-medium text-slate-700">
            Time zone
          </label>
          <TimeZoneSelect
            id={`${prefix}-zone`}
            name="timeZone"
            zones={zones}
            value={zone}
            onChange={setZone}
            invalid={Boolean(errors?.timeZone)}
            describedBy={errors?.timeZone ? `${prefix}-zone-error` : undefined}
          />
          <FieldErrorText id={`${prefix}-zone-error`} errors={errors?.timeZone} />
        </div>
        <p className="text-xs text-slate-600 sm:col-span-2" data-testid="switch-time-utc-preview">
          {utc ? `That is ${utcText(utc)}.` : "Enter a date and time."}
        </p>
        <div className="flex flex-wrap items-center gap-3 sm:col-span-2">
          <SubmitButton pendingText="Saving…">Save switch time</SubmitButton>
          <FormMessage result={result} />
        </div>
      </form>
    </details>
  );
}
