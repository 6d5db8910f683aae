// Turbopack warns when a filesystem call's path is known only at run time: it then traces the whole project into the
// server output. In this project that happens when the web bundle reaches worker-side code (the guest builder, the
// qemu provider), so `npm test` fails its build stage on it instead of letting the warning scroll by.

/** The title of Turbopack's warning, printed under the location (file:line:column) of the call. */
export const TRACING_WARNING_TITLE = "Dynamic filesystem access causes tracing of the whole project";

// Colour codes (the code frames always carry them; the title does on a colour terminal).
const ansiCodes = /\u001b\[[0-9;]*m/g;

/** Where `next build` printed the whole-project tracing warning: each call's location, in order, once each. */
export function tracingWarnings(buildOutput: string): string[] {
  const lines = buildOutput.replace(ansiCodes, "").split(/\r?\n/);
  const found: string[] = [];
  lines.forEach((line, i) => {
    if (line.trim() !== `Warning: ${TRACING_WARNING_TITLE}`) return;
    // Turbopack prints the location on the line above; without one, the warning is still counted.
    const above = lines[i - 1]?.trim() ?? "";
    found.push(/^\S+:\d+:\d+$/.test(above) ? above : TRACING_WARNING_TITLE);
  });
  return [...new Set(found)];
}

/** The build stage's failure message for those warnings. */
export function describeTracingWarnings(locations: string[]): string {
  return [
    `next build warned ${locations.length} time(s): "${TRACING_WARNING_TITLE}", at`,
    ...locations.map((location) => `  ${location}`),
    "The web app bundles code that reads files at run-time paths, which belongs to workers: the import traces in",
    "the build output above show which page or route reaches it.",
  ].join("\n");
}
