// The failures of a test run, read from the reporters' JSON reports, so that the end of `npm test`'s output
// (often all a CI log keeps) names each failed test and the start of its error, not only a count.
import fs from "node:fs";

const ansi = /\u001b\[[0-9;]*m/g;
const linesPerFailure = 20;

export interface Failure {
  title: string;
  message: string;
}

/** A JSON file's content, or undefined when it is absent or unreadable (a stage that never ran). */
export function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

interface VitestReport {
  testResults?: {
    name?: string;
    message?: string;
    assertionResults?: { fullName?: string; status?: string; failureMessages?: string[] }[];
  }[];
}

/** Failed vitest tests, and files that failed before any test ran (an import error, a failed hook). */
export function vitestFailures(parsedReport: unknown): Failure[] {
  const report = parsedReport as VitestReport | undefined;
  const failures: Failure[] = [];
  for (const suite of report?.testResults ?? []) {
    const failed = (suite.assertionResults ?? []).filter((a) => a.status === "failed");
    for (const a of failed)
      failures.push({
        title: `${suite.name ?? "?"} › ${a.fullName ?? "?"}`,
        message: (a.failureMessages ?? []).join("\n"),
      });
    if (failed.length === 0 && suite.message) failures.push({ title: suite.name ?? "?", message: suite.message });
  }
  return failures;
}

interface PlaywrightSuite {
  title?: string;
  file?: string;
  specs?: {
    title?: string;
    line?: number;
    tests?: { status?: string; results?: { status?: string; errors?: { message?: string }[] }[] }[];
  }[];
  suites?: PlaywrightSuite[];
}

/** Playwright tests whose outcome was unexpected or flaky, with the errors of their failed attempts. */
export function playwrightFailures(parsedReport: unknown): Failure[] {
  const report = parsedReport as { suites?: PlaywrightSuite[]; errors?: { message?: string }[] } | undefined;
  const failures: Failure[] = (report?.errors ?? []).map((e) => ({ title: "Playwright", message: e.message ?? "" }));
  const visit = (suite: PlaywrightSuite, file: string) => {
    for (const spec of suite.specs ?? []) {
      for (const test of spec.tests ?? []) {
        if (test.status !== "unexpected" && test.status !== "flaky") continue;
        const messages = (test.results ?? [])
          .filter((r) => r.status !== "passed" && r.status !== "skipped")
          .flatMap((r) => (r.errors ?? []).map((e) => e.message ?? ""));
        failures.push({
          title: `${file}:${spec.line ?? "?"} › ${spec.title ?? "?"}${test.status === "flaky" ? " (flaky)" : ""}`,
          message: messages.join("\n"),
        });
      }
    }
    for (const child of suite.suites ?? []) visit(child, child.file ?? file);
  };
  for (const suite of report?.suites ?? []) visit(suite, suite.file ?? suite.title ?? "?");
  return failures;
}

/** A failure as a few lines: its title, then the start of its message, indented. */
export function formatFailure(failure: Failure): string {
  const lines = failure.message
    .replace(ansi, "")
    .split("\n")
    .filter((line) => line.trim() !== "");
  const shown = lines.slice(0, linesPerFailure).map((line) => `      ${line}`);
  if (lines.length > linesPerFailure) shown.push(`      … ${lines.length - linesPerFailure} more lines`);
  return [`  ✘ ${failure.title}`, ...shown].join("\n");
}

/** The last lines of a log file, or nothing when it is absent. */
export function tailOf(file: string, count: number): string[] {
  try {
    return fs.readFileSync(file, "utf8").replace(ansi, "").trimEnd().split("\n").slice(-count);
  } catch {
    return [];
  }
}
