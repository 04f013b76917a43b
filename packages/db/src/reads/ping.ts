import type { Database } from "../open-database.js";
import { runRead } from "./run-read.js";

/** Whether the database answers a query now (a readiness probe): resolves, or throws a DatabaseError. */
export async function pingDatabase(db: Database): Promise<void> {
  await runRead(db, "reach the database", (client) => client.$queryRaw`SELECT 1`);
}
