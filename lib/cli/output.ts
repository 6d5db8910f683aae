// Printing results: for people (short lines) or, with --json, for scripts (one JSON document, or one JSON
// object per line while following). Errors always go to stderr, typed, so a script can branch on the code.
import type { CliError } from "./cli-error";
import type { CliIo } from "./io";

export class Output {
  constructor(
    private readonly io: CliIo,
    readonly json: boolean,
  ) {}

  /** The command's result: `data` as JSON, or the human rendering. */
  result(data: unknown, human: () => string): void {
    this.io.stdout(this.json ? JSON.stringify(data, null, 2) + "\n" : human() + "\n");
  }

  /** One item of a stream (events while following): a JSON line, or a human line. */
  streamed(data: unknown, human: () => string): void {
    this.io.stdout(this.json ? JSON.stringify(data) + "\n" : human() + "\n");
  }

  error(err: CliError): void {
    if (this.json) {
      this.io.stderr(
        JSON.stringify({
          error: { code: err.code, message: err.message, ...(err.fieldErrors ? { fieldErrors: err.fieldErrors } : {}) },
        }) + "\n",
      );
      return;
    }
    const lines = [`failback: ${err.code}: ${err.message}`];
    for (const [field, messages] of Object.entries(err.fieldErrors ?? {}))
      lines.push(`  ${field}: ${messages.join(" ")}`);
    this.io.stderr(lines.join("\n") + "\n");
  }
}
