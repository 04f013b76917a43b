import { createHash } from "node:crypto";
import { Prisma } from "./generated/prisma/client.js";

const MARK = /^\s*\/\* reev:([a-z-]+) \*\//;

/**
 * Marks a statement on a hot path (a step write, consolidation) for the PostgreSQL driver to prepare
 * once per connection: parsing and planning the step write's statement was a third of its time
 * there. Only marked statements are named, because a server keeps every named statement for the
 * life of the connection, and the ORM's statements (an `IN` list per length) are not a bounded set.
 */
export const prepared = (name: string): Prisma.Sql => Prisma.raw(`/* reev:${name} */`);

const names = new Map<string, string>();

/**
 * The driver's name for a statement's text: the same text always gets the same name, different
 * texts (a marked statement has a few shapes) different ones; unmarked statements stay unnamed ("").
 */
export function statementName(query: { sql: string }): string {
  const known = names.get(query.sql);
  if (known !== undefined) return known;
  const mark = MARK.exec(query.sql);
  const name = mark ? `reev_${mark[1]}_${createHash("sha1").update(query.sql).digest("hex").slice(0, 16)}` : "";
  // Marked texts are a bounded set; unmarked ones are not, so they are never kept.
  if (mark) names.set(query.sql, name);
  return name;
}
