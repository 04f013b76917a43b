// @reev/orchestrator/otlp: stored runs as OpenTelemetry spans (GenAI semantic conventions), sent to
// any OTLP/HTTP endpoint. An entry of its own, so programs that never export do not load the
// OpenTelemetry SDK.
export { checkOtlpUrl, DEFAULT_OTLP_TRACES_ENDPOINT, type OtlpEndpoint, resolveOtlpEndpoint } from "./otlp-endpoint.js";
export { checkOtlpHeaders, OTLP_HEADER_VARIABLES } from "./otlp-headers.js";
export { ANSWER_GRACE_MS } from "./otlp-request.js";
export {
  DEFAULT_OTLP_TIMEOUT_MS,
  exportRunToOtlp,
  type OtlpExporterOptions,
  type OtlpExportReport,
  type OtlpProgress,
  OtlpRunExporter,
  readStoredRun,
  SPANS_PER_REQUEST,
} from "./otlp-run-exporter.js";
export { REFUSED_CONNECTION_TRIES } from "./refused-connection.js";
export {
  type AttemptUsage,
  EVALUATIONS,
  REEV_ATTRIBUTES,
  type RunSpansContext,
  runSpans,
  type StoredRun,
  type StoredRunStep,
} from "./run-spans.js";
export { spanIdOf, traceIdOf } from "./trace-ids.js";
