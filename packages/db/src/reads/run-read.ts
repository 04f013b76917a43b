import { toDatabaseError } from "../errors.js";
import type { Prisma, PrismaClient } from "../generated/prisma/client.js";
import { type Database, driverReadOf, prismaClientOf } from "../open-database.js";

/**
 * Runs one read on an open database's client, its failures classified like the writer's
 * (DatabaseError with a code, never a driver error). Reads never write and are never retried here:
 * a reader (the server) answers 503 and the client asks again.
 */
export async function runRead<T>(db: Database, action: string, read: (client: PrismaClient) => Promise<T>): Promise<T> {
  try {
    return await read(prismaClientOf(db));
  } catch (error) {
    throw toDatabaseError(error, action);
  }
}

/**
 * One read statement straight on the driver (see `DriverRead`), failures classified as `runRead`'s.
 * For the server's hottest reads: Prisma's raw-query path (each parameter through JSON and back, each
 * row re-typed, each timestamp parsed from a string) cost more than the query, twice what the driver
 * alone does for a page of executions. Raw SQL still only through `Prisma.sql`.
 */
export async function runDriverRead<R>(db: Database, action: string, sql: Prisma.Sql): Promise<R[]> {
  try {
    return await driverReadOf(db)<R>(sql);
  } catch (error) {
    throw toDatabaseError(error, action);
  }
}
