import { toDatabaseError } from "../errors.js";
import type { PrismaClient } from "../generated/prisma/client.js";
import { type Database, prismaClientOf } from "../open-database.js";

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
