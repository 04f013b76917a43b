import { OrchestratorError } from "../errors.js";

/** Where the OpenTelemetry specification's OTLP/HTTP exporters send traces when nothing is configured. */
export const DEFAULT_OTLP_TRACES_ENDPOINT = "http://localhost:4318/v1/traces";

/**
 * Where the spans go, and the setting that changes it (for messages and an error's field: the fix goes
 * where the URL came from; for the default, the option that would have given another).
 */
export type OtlpEndpoint = { url: string; source: string };

type Env = Readonly<Record<string, string | undefined>>;

/** Checks an endpoint URL: http or https, nothing else. `source` names the option or variable it came from. */
export function checkOtlpUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new OrchestratorError("INVALID_ARGUMENT", `${source} is not a URL: "${value}". Give one like http://127.0.0.1:4318/v1/traces.`, {
      path: source,
    });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new OrchestratorError("INVALID_ARGUMENT", `${source} must be an http:// or https:// URL (OTLP over HTTP), got "${value}".`, {
      path: source,
    });
  }
  return url.href;
}

const setting = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value ? value : undefined;
};

/**
 * The traces endpoint, as the OpenTelemetry exporter specification orders the settings: the one
 * given (`--endpoint`), then OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is), then
 * OTEL_EXPORTER_OTLP_ENDPOINT, the collector's base URL, to which `v1/traces` is appended. Without
 * any: `fallback` (undefined: no export wanted), its source the option that overrides it.
 */
export function resolveOtlpEndpoint(options: {
  endpoint?: string | undefined;
  /** What names `endpoint` in a message: "--endpoint", "endpoint". */
  endpointSource?: string;
  env?: Env;
  fallback?: string;
}): OtlpEndpoint | undefined {
  const env = options.env ?? process.env;
  if (options.endpoint !== undefined) {
    const source = options.endpointSource ?? "endpoint";
    return { url: checkOtlpUrl(options.endpoint, source), source };
  }
  const traces = setting(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  if (traces) return { url: checkOtlpUrl(traces, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), source: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" };
  const base = setting(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  if (base) {
    const href = checkOtlpUrl(base, "OTEL_EXPORTER_OTLP_ENDPOINT");
    return { url: `${href.endsWith("/") ? href : `${href}/`}v1/traces`, source: "OTEL_EXPORTER_OTLP_ENDPOINT" };
  }
  return options.fallback === undefined ? undefined : { url: options.fallback, source: options.endpointSource ?? "endpoint" };
}
