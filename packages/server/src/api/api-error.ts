import { z } from "@hono/zod-openapi";
import { type Database, DatabaseError, evaluationIdsContaining, executionIdsContaining } from "@reev/db";
import { nearWords, OrchestratorError } from "@reev/orchestrator";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error the API answers with: `{ error: { code, message, field?, requestId? } }`. */
export const ZApiErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "NOT_FOUND" }),
      message: z.string(),
      field: z.string().optional().openapi({ description: "The input at fault (a query parameter, path parameter or body field)." }),
      requestId: z.string().optional().openapi({ description: "On a 500: the id the server logged the failure under." }),
    }),
  })
  .openapi("Error");
type ApiErrorBody = z.infer<typeof ZApiErrorBody>;

/** An answer the API gives on purpose: a status, a code to branch on, words, and the field at fault. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: ContentfulStatusCode, code: string, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) } };
  }
}

export const badRequest = (message: string, field: string) => new ApiError(400, "INVALID_ARGUMENT", message, field);
export const notFound = (message: string) => new ApiError(404, "NOT_FOUND", message);

const IDS_CONTAINING = { execution: executionIdsContaining, evaluation: evaluationIdsContaining } as const;

/**
 * No execution (or evaluation) with this id, with the stored ids of its kind that contain it (an id
 * cut short when copied), as `reev show`, `reev compare` and the viewer answer: the id that was
 * meant, or how many there are. A failure to look leaves the plain words.
 */
async function idNotFound(db: Database, kind: keyof typeof IDS_CONTAINING, id: string): Promise<ApiError> {
  const near = await IDS_CONTAINING[kind](db, id).catch(() => ({ ids: [], more: false }));
  return notFound(`No ${kind} "${id}".${nearWords(near, `${kind} ids`)}`);
}

export const executionNotFound = (db: Database, id: string): Promise<ApiError> => idNotFound(db, "execution", id);
export const evaluationNotFound = (db: Database, id: string): Promise<ApiError> => idNotFound(db, "evaluation", id);

const ORCHESTRATOR_STATUS: Partial<Record<string, ContentfulStatusCode>> = {
  NOT_FOUND: 404,
  INVALID_ARGUMENT: 400,
  INVALID_FLOW: 400,
  CONSOLIDATION_TIMEOUT: 504,
};

/**
 * The errors of the layers below as API answers, or undefined for one that must not reach a client
 * as it is (a bug, a driver failure): that one is logged and answered with a request id. Database
 * errors carry their own HTTP status; their messages are written for users and never hold SQL.
 */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (DatabaseError.is(error)) {
    if (error.httpStatus >= 500 && error.code !== "CONNECTION" && error.code !== "CONTENTION" && error.code !== "TIMEOUT") return undefined;
    const status = error.httpStatus as ContentfulStatusCode;
    const message = status === 503 || status === 504 ? "The database is busy or unreachable; try again in a moment." : error.message;
    return new ApiError(status, error.code === "VALIDATION" ? "INVALID_ARGUMENT" : error.code, message, error.field);
  }
  if (OrchestratorError.is(error)) {
    const status = ORCHESTRATOR_STATUS[error.code];
    if (status) return new ApiError(status, error.code, error.message, error.path);
  }
  return undefined;
}
