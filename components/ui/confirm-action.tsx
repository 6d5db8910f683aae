"use client";

import { useActionState, useEffect, useRef } from "react";
import type { ActionResult } from "@/lib/errors";
import { Button, type ButtonVariant } from "./button";
import { FormMessage } from "./form-message";

type Action = (previous: unknown, formData: FormData) => Promise<ActionResult<unknown>>;

export interface ConfirmActionProps {
  action: Action;
  /** Hidden fields sent with the action (session id, item id). */
  fields: Record<string, string | undefined>;
  label: string;
  /** The dialog's question and what exactly will happen, in plain words. */
  title: string;
  consequence: React.ReactNode;
  confirmLabel: string;
  variant?: ButtonVariant;
  pendingText?: string;
}

/**
 * A button that asks first. The dialog says what will happen; only "yes" sends the action, and the answer
 * (done, or why not) is shown beside the button. The page itself changes when the engine's events arrive.
 */
export function ConfirmAction({
  action,
  fields,
  label,
  title,
  consequence,
  confirmLabel,
  variant = "secondary",
  pendingText,
}: ConfirmActionProps) {
  const [result, formAction, pending] = useActionState(action, null);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    if (result) dialog.current?.close();
  }, [result]);
  return (
    <div className="flex flex-col gap-2">
      <Button
        type="button"
        variant={variant}
        disabled={pending}
        aria-busy={pending}
        onClick={() => dialog.current?.showModal()}
      >
        {pending ? (pendingText ?? "Working…") : label}
      </Button>
      <dialog
        ref={dialog}
        aria-label={title}
        className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-lg p-0 shadow-xl backdrop:bg-slate-900/40"
      >
        <form action={formAction} className="p-5">
          {Object.entries(fields).map(([name, value]) =>
            value === undefined ? null : <input key={name} type="hidden" name={name} value={value} />,
          )}
          <h2 className="text-base font-semibold text-slate-900">{title}</h2>
          <div className="mt-2 space-y-2 text-sm text-slate-700">{consequence}</div>
          <div className="mt-5 flex flex-wrap justify-end gap-2">
            <Button type="button" variant="secondary" onClick={() => dialog.current?.close()}>
              Keep as is
            </Button>
            <Button type="submit" variant={variant === "danger" ? "danger" : "primary"} disabled={pending}>
              {confirmLabel}
            </Button>
          </div>
        </form>
      </dialog>
      {result ? <FormMessage result={result} /> : null}
    </div>
  );
}
