import { OrchestratorError } from "../errors.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The variables whose headers go with every request, as the OTLP exporter reads them. */
export const OTLP_HEADER_VARIABLES = ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"] as const;

/** An HTTP header name (RFC 9110's token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What an HTTP header value may hold: no line breaks or other control characters. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

const decoded = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
};

/**
 * What is wrong with one `key=value` entry, in words that never quote its value (it is most often a
 * token); undefined when it is right. The OTLP exporter skips such an entry without a word, and the
 * header it was meant to be shows up later as a 401 from the collector.
 */
function entryProblem(entry: string, position: string): string | undefined {
  const equals = entry.indexOf("=");
  if (equals === -1) {
    const colon = /^\s*([^:\s]+)\s*:/.exec(entry);
    return colon
      ? `${position} is written "${colon[1]}: …", as an HTTP header; write it ${colon[1]}=… (spaces as %20)`
      : `${position} is not key=value`;
  }
  const key = decoded(entry.slice(0, equals).trim());
  const value = entry.slice(equals + 1).trim();
  if (!key) return `${position} has no key before its "="`;
  if (!HEADER_NAME.test(key)) return `${position}'s key "${key}" is not an HTTP header name`;
  if (!value) return `${position} (${key}) has no value`;
  // The exporter reads what follows a ";" as baggage metadata and drops it from the header.
  if (value.includes(";")) return `${position} (${key}) has a ";" in its value, which would be cut off there: write it %3B`;
  const text = decoded(value);
  if (text === undefined) return `${position} (${key}) has a "%" that is not URL encoding: write a "%" as %25`;
  if (!HEADER_VALUE.test(text)) return `${position} (${key}) has a line break or another control character in its value`;
  return undefined;
}

/**
 * Checks OTEL_EXPORTER_OTLP_HEADERS and OTEL_EXPORTER_OTLP_TRACES_HEADERS as the OpenTelemetry
 * specification writes them: `key=value` pairs separated by commas, values URL-encoded (empty entries,
 * as after a trailing comma, are nothing). Throws INVALID_ARGUMENT naming the variable and what could
 * not be read, so a header meant for the collector is not silently left out.
 */
export function checkOtlpHeaders(env: Env = process.env): void {
  for (const variable of OTLP_HEADER_VARIABLES) {
    const entries = (env[variable] ?? "").split(",");
    const problems = entries.flatMap((entry, i) => (entry.trim() ? (entryProblem(entry, `entry ${i + 1}`) ?? []) : []));
    if (!problems.length) continue;
    throw new OrchestratorError(
      "INVALID_ARGUMENT",
      `${variable} could not be read: ${problems.join("; ")}. Write the headers as key=value pairs separated by commas, values URL-encoded: Authorization=Basic%20dXNlcjpwYXNz,X-Scope-OrgID=tenant1.`,
      { path: variable },
    );
  }
}
