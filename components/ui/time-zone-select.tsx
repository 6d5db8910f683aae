"use client";

import { useBrowserTimeZone } from "./local-time";

/**
 * An explicit IANA zone. `value` null means "the browser's zone" (known only after hydration), so the choice
 * shown is always the one that will be sent. The zone list comes from the server, so both render the same.
 */
export function TimeZoneSelect({
  id,
  name,
  zones,
  value,
  onChange,
  invalid,
  describedBy,
}: {
  id: string;
  name?: string;
  zones: string[];
  value: string | null;
  onChange: (zone: string) => void;
  invalid?: boolean;
  describedBy?: string;
}) {
  const browser = useBrowserTimeZone();
  const effective = value ?? browser ?? "UTC";
  const options = zones.includes(effective) ? zones : [effective, ...zones];
  return (
    <select
      id={id}
      name={name}
      value={effective}
      onChange={(e) => onChange(e.target.value)}
      aria-invalid={invalid || undefined}
      aria-describedby={describedBy}
      className="mt-1 block w-full rounded-md border-0 px-3 py-2 text-sm text-slate-900 ring-1 ring-inset ring-slate-300 focus:ring-2 focus:ring-inset focus:ring-teal-700 aria-[invalid=true]:ring-red-500"
    >
      {options.map((zone) => (
        <option key={zone} value={zone}>
          {zone}
          {zone === browser ? " (this browser)" : ""}
        </option>
      ))}
    </select>
  );
}

/** The zone a TimeZoneSelect with `value` is showing. */
export function useEffectiveTimeZone(value: string | null): string {
  const browser = useBrowserTimeZone();
  return value ?? browser ?? "UTC";
}
