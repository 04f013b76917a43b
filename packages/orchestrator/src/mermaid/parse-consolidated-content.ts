import { formatIssuePath } from "@reev/db";
import type { z } from "zod";
import { type ConsolidatedContent, ZConsolidatedContent } from "../consolidated-content.js";
import { DiagramError } from "./diagram-error.js";

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${formatIssuePath(issue.path) || "(root)"}: ${issue.message}`).join("; ");
}

/**
 * Accepts the stored JSON string or an already-parsed object and always validates: a diagram
 * drawn from half-valid content would silently show a wrong run.
 */
export function parseConsolidatedContent(input: string | ConsolidatedContent): ConsolidatedContent {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new DiagramError("INVALID_CONTENT", `consolidated content is not valid JSON: ${reason}`, { cause });
    }
  }
  const parsed = ZConsolidatedContent.safeParse(raw);
  if (!parsed.success) {
    throw new DiagramError("INVALID_CONTENT", `invalid consolidated content: ${describeIssues(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
