/**
 * A failure as the `reev` command tells it: a `code` for scripts (printed in `--json` mode), a
 * sentence in plain words, the argument at fault and what to do next. Everything thrown while a
 * command runs is turned into one of these before it is printed (see error-report.ts).
 */
export class CliError extends Error {
  override readonly name = "CliError";
  /** reev's error code: INVALID_ARGUMENT for the CLI's own, else the DatabaseError or OrchestratorError code. */
  readonly code: string;
  /** The option or argument at fault (`--limit`, `executionId`), or a field path in a file. */
  readonly field: string | undefined;
  /** What to do next, one sentence; printed on its own line after the message. */
  readonly hint: string | undefined;
  /** 2: bad input, nothing was done; 1: the command failed. */
  readonly exitCode: 1 | 2;

  constructor(
    code: string,
    message: string,
    options: { field?: string | undefined; hint?: string | undefined; exitCode?: 1 | 2; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? (code === "INVALID_ARGUMENT" ? 2 : 1);
  }

  static is(error: unknown): error is CliError {
    return error instanceof CliError;
  }
}

/** Bad input on the command line: exit 2, and the command's help is the next step unless `hint` says otherwise. */
export function invalidArgument(message: string, field: string, hint?: string): CliError {
  return new CliError("INVALID_ARGUMENT", message, { field, hint });
}

/** The error as printed: two lines of words, or with --json one JSON object for scripts. */
export function errorText(error: CliError, json: boolean): string {
  if (json) {
    const message = error.hint ? `${error.message} ${error.hint}` : error.message;
    return `${JSON.stringify({ error: { code: error.code, message, field: error.field ?? null } })}\n`;
  }
  return `reev: ${error.message}\n${error.hint ? `${error.hint}\n` : ""}`;
}

/** `--json` anywhere before a `--` asks for JSON, errors included: even when parsing the rest fails. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}
