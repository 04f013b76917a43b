// @reev/server: `reev serve`'s HTTP API, live event streams and web viewer, as one Hono app.
export { createServer, type ListenOptions, type ReevServer, type ServerOptions } from "./create-server.js";
export { purgeSummary, type RetentionOptions } from "./retention.js";
export { SHUTDOWN_REASON } from "./server-runs.js";
