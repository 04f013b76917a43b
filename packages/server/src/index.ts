// @reev/server: `reev serve`'s HTTP API, live event streams and web viewer, as one Hono app.

/** The list's page cursor, for tools that build one (the bench's deep page and its bare handler). */
export { encodeCursor } from "./api/cursor.js";
export { createServer, type ListenOptions, type ReevServer, type ServerOptions } from "./create-server.js";
export type { RetentionOptions } from "./retention.js";
