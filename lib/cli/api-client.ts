// The command line's only way into the product: the HTTP API, with the token as a bearer. Refusals come back
// as the API's typed errors; a server that cannot be reached is a NETWORK error.
import type { FieldErrors } from "@/lib/errors";
import { CliError, type CliErrorCode } from "./cli-error";
import type { Credentials } from "./credentials";

export type Fetch = typeof fetch;

const userAgent = "failback-cli/1";

export class ApiClient {
  constructor(
    private readonly credentials: Credentials,
    private readonly fetchImpl: Fetch = fetch,
  ) {}

  get server(): string {
    return this.credentials.server;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>("POST", path, body);
  }

  /** Opens the session's event stream; the caller reads the body. */
  async openEventStream(sessionId: string, afterId: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const headers = {
      ...this.headers(),
      Accept: "text/event-stream",
      ...(afterId > 0 ? { "Last-Event-ID": String(afterId) } : {}),
    };
    const response = await this.send(`/api/v1/sessions/${encodeURIComponent(sessionId)}/events`, { headers, signal });
    if (!response.ok) throw await this.errorOf(response);
    if (!response.body) throw new CliError("INTERNAL", "The event stream has no body.");
    return response.body;
  }

  private headers(): Record<string, string> {
    return { Authorization: `Bearer ${this.credentials.token}`, "User-Agent": userAgent };
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { ...this.headers(), Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.send(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await this.errorOf(response);
    return (await response.json()) as T;
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchImpl(this.credentials.server + path, init);
    } catch (err) {
      if ((err as Error).name === "AbortError") throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        "NETWORK",
        `Cannot reach ${this.credentials.server}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      );
    }
  }

  private async errorOf(response: Response): Promise<CliError> {
    const text = await response.text().catch(() => "");
    try {
      const { error } = JSON.parse(text) as { error?: { code?: string; message?: string; fieldErrors?: FieldErrors } };
      if (error?.code && error.message)
        return new CliError(error.code as CliErrorCode, error.message, error.fieldErrors);
    } catch {
      // not the API's error shape: a proxy or a server that is not failback
    }
    return new CliError(
      response.status === 404 ? "NOT_FOUND" : "INTERNAL",
      `HTTP ${response.status} from ${this.credentials.server}${text ? `: ${text.slice(0, 200)}` : ""}`,
    );
  }
}
