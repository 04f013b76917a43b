import type { AttemptSpent } from "./agents/agent.js";

export type OrchestratorErrorCode =
  | "INVALID_FLOW"
  | "AGENT_FAILED"
  | "AGENT_TIMEOUT"
  | "AGENT_PROTOCOL"
  /** Not the agent's failure: the network, the provider's HTTP 5xx, a rate limit. Recorded as an infrastructure error. */
  | "INFRASTRUCTURE"
  | "CONSOLIDATION_FAILED"
  | "CONSOLIDATION_TIMEOUT"
  | "NOT_FOUND"
  | "INVALID_ARGUMENT"
  /** An execution asked for what only a finished one has (an OpenTelemetry export). */
  | "NOT_FINISHED"
  /** An export could not be delivered (the OTLP endpoint unreachable, or refusing). */
  | "EXPORT_FAILED";

export type OrchestratorErrorOptions = {
  cause?: unknown;
  /** The offending field path for invalid input, e.g. `steps[2].retry.attempts`. */
  path?: string;
  /**
   * What an agent's attempt had already done when it failed. Tools that ran had their effects and the
   * provider billed its tokens, so the attempt records both instead of losing them with the error.
   */
  spent?: AttemptSpent;
};

/** The package's one error type: callers branch on `code`, never on message text. */
export class OrchestratorError extends Error {
  readonly code: OrchestratorErrorCode;
  readonly path?: string;
  readonly spent?: AttemptSpent;

  constructor(code: OrchestratorErrorCode, message: string, options: OrchestratorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "OrchestratorError";
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
    if (options.spent !== undefined) this.spent = options.spent;
  }

  static is(error: unknown, code?: OrchestratorErrorCode): error is OrchestratorError {
    return error instanceof OrchestratorError && (code === undefined || error.code === code);
  }
}

/** What went wrong, from anything thrown (agents and tools throw strings too). */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
