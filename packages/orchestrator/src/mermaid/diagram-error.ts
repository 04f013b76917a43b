/** Why a diagram could not be drawn; callers branch on `code`, people read `message`. */
export type DiagramErrorCode = "INVALID_CONTENT";

export class DiagramError extends Error {
  readonly code: DiagramErrorCode;

  constructor(code: DiagramErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "DiagramError";
    this.code = code;
  }
}
