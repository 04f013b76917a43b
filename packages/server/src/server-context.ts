import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Database, LivenessOptions } from "@reev/db";
import type { PriceTable } from "@reev/orchestrator";
import type { ChangeHub } from "./live/change-hub.js";
import type { ServerRuns } from "./server-runs.js";

/** What every route reads from: the database, the live change hub, and the runs this server started. */
export type ServerContext = {
  db: Database;
  hub: ChangeHub;
  runs: ServerRuns;
  /** What consolidations in this server price tokens with (reev serve --prices); null: their cost is unknown. */
  prices: PriceTable | null;
  /** How often an idle event stream sends a heartbeat, in ms. */
  heartbeatMs: number;
  /**
   * The stale threshold every view of a running run is judged by (`reev serve` passes
   * $REEV_STALE_AFTER_MS, as the CLI's commands read it), so the viewer and reev list agree.
   */
  liveness: LivenessOptions;
  /** Ends every event stream: the server is shutting down. */
  shutdown: AbortSignal;
};

export type AppEnv = { Variables: { requestId: string; secureHeadersNonce?: string; viewerPage?: true } };
export type App = OpenAPIHono<AppEnv>;
