import { z } from "@hono/zod-openapi";
import { MAX_ID_LENGTH } from "@reev/db";

/** An id in a path: any text a stored id can be (unicode included), up to the longest one. */
export const idParam = (name: string, description: string) =>
  z
    .string()
    .min(1)
    .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
    .openapi({ param: { name, in: "path" }, description });

export const ZExecutionIdParams = z.object({ id: idParam("id", "The execution id.") });

/** `?flag=true|false`, as query strings spell booleans. */
export const booleanQuery = (description: string) =>
  z
    .enum(["true", "false"], { error: "must be true or false" })
    .optional()
    .transform((v) => v === "true")
    .openapi({ description });
