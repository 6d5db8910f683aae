// Typed provider errors: the engine decides retry vs. needs_attention by kind, and shows the tool's own words.
export const providerErrorKinds = ["not_found", "busy", "unsupported", "no_space", "invalid", "hypervisor"] as const;
export type ProviderErrorKind = (typeof providerErrorKinds)[number];

export class ProviderError extends Error {
  constructor(
    public readonly kind: ProviderErrorKind,
    message: string,
    /** What the hypervisor tool itself said (stderr, QMP error description), verbatim. */
    public readonly toolMessage?: string,
    /** Whether trying again later may succeed (a busy lock, a daemon restarting). */
    public readonly transient: boolean = kind === "busy",
  ) {
    super(toolMessage ? `${message}: ${toolMessage}` : message);
    this.name = "ProviderError";
  }
}

export const notFound = (what: string) => new ProviderError("not_found", `${what} not found`);
export const unsupported = (what: string) => new ProviderError("unsupported", what);
