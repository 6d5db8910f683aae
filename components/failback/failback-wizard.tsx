"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { commandAction } from "@/lib/actions/command-action";
import type { FailbackReview } from "@/lib/commands/failback-commands";
import type { TargetChoices } from "@/lib/db/queries/replicas";
import type { ActionResult, FieldErrors } from "@/lib/errors";
import { Button } from "@/components/ui/button";
import { useEffectiveTimeZone } from "@/components/ui/time-zone-select";
import { OptionsFields } from "./options-fields";
import { ReviewPanel } from "./review-panel";
import { TargetFields } from "./target-fields";
import {
  buildRequest,
  errorLookup,
  fieldLabel,
  initialDraft,
  type ItemDraft,
  type WizardDraft,
  type WizardReplicaView,
} from "./wizard-model";

const checkFailback = commandAction("check");
const startFailback = commandAction("start");

/**
 * Choose targets and options, review (the server validates and pre-flights the exact request, and lists the
 * steps it will run), then start. Any change after the review hides it again: what starts is what was reviewed.
 */
export function FailbackWizard({
  replicas,
  choices,
  zones,
}: {
  replicas: WizardReplicaView[];
  choices: TargetChoices;
  zones: string[];
}) {
  const router = useRouter();
  const [draft, setDraft] = useState<WizardDraft>(() => initialDraft(replicas));
  const [timeZone, setTimeZone] = useState<string | null>(null);
  const zone = useEffectiveTimeZone(timeZone);
  const [review, setReview] = useState<{ request: string; result: FailbackReview } | null>(null);
  const [failure, setFailure] = useState<{ message: string; fieldErrors?: FieldErrors } | null>(null);
  const [pending, startTransition] = useTransition();

  const request = buildRequest(draft, zone);
  const requestKey = JSON.stringify(request);
  const current = review?.request === requestKey ? review.result : null;
  const fieldErrors =
    failure?.fieldErrors ??
    (review?.request === requestKey && !review.result.ok ? review.result.fieldErrors : undefined);
  const errors = errorLookup(fieldErrors);

  const update = (patch: Partial<WizardDraft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    setFailure(null);
  };
  const updateItem = (index: number, patch: Partial<ItemDraft>) => {
    setDraft((d) => ({ ...d, items: d.items.map((item, i) => (i === index ? { ...item, ...patch } : item)) }));
    setFailure(null);
  };
  const refused = (result: ActionResult<unknown>) => {
    if (!result.ok) setFailure({ message: result.message, fieldErrors: result.fieldErrors });
  };

  const runReview = () =>
    startTransition(async () => {
      setFailure(null);
      const result = await checkFailback(null, request);
      if (result.ok) setReview({ request: requestKey, result: result.data });
      else refused(result);
    });

  const start = () =>
    startTransition(async () => {
      const result = await startFailback(null, request);
      if (result.ok) router.push(`/sessions/${result.data.sessionId}`);
      else refused(result);
    });

  const summary =
    failure ??
    (current && !current.ok
      ? { message: "The pre-flight refused this failback.", fieldErrors: current.fieldErrors }
      : null);
  return (
    <div className="space-y-6">
      {summary ? (
        <div role="alert" data-testid="wizard-errors" className="rounded-md bg-red-50 px-4 py-3 text-sm text-red-900">
          <p className="font-medium">{summary.message}</p>
          {summary.fieldErrors ? (
            <ul className="mt-1 list-disc pl-5">
              {Object.entries(summary.fieldErrors).flatMap(([key, messages]) => {
                const label = fieldLabel(key, replicas);
                return messages.map((m) => <li key={`${key}-${m}`}>{label ? `${label}: ${m}` : m}</li>);
              })}
            </ul>
          ) : null}
        </div>
      ) : null}

      <section aria-label="Replicas and targets" className="space-y-3">
        <h2 className="text-base font-semibold">1. Where each replica goes home to</h2>
        {replicas.map((replica, i) => (
          <TargetFields
            key={replica.id}
            index={i}
            replica={replica}
            draft={draft.items[i] as ItemDraft}
            choices={choices}
            errors={errors}
            onChange={(patch) => updateItem(i, patch)}
          />
        ))}
      </section>

      <section aria-label="Options" className="space-y-3">
        <h2 className="text-base font-semibold">2. How the failback runs</h2>
        <OptionsFields
          draft={draft}
          replicas={replicas}
          zones={zones}
          timeZone={timeZone}
          effectiveZone={zone}
          errors={errors}
          onChange={update}
          onZoneChange={setTimeZone}
        />
      </section>

      <section aria-label="Review and start" className="space-y-3">
        <h2 className="text-base font-semibold">3. Review and start</h2>
        {current ? (
          <ReviewPanel review={current} replicas={replicas} draft={draft} zone={zone} />
        ) : (
          <p className="text-sm text-slate-600">
            Review checks the settings on the server and lists every step that will run.
          </p>
        )}
        <div className="flex flex-wrap gap-3">
          <Button
            type="button"
            variant={current ? "secondary" : "primary"}
            onClick={runReview}
            disabled={pending}
            aria-busy={pending}
          >
            {pending && !current ? "Checking…" : current ? "Check again" : "Review"}
          </Button>
          {current ? (
            <Button type="button" onClick={start} disabled={pending || !current.ok} aria-busy={pending}>
              {pending ? "Starting…" : "Start failback"}
            </Button>
          ) : null}
        </div>
      </section>
    </div>
  );
}
