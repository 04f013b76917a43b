import { DatabaseError } from "./errors.js";

/**
 * A scheme of two letters or more, then ":". One letter is a Windows drive (`C:\data`), a path; two or
 * more is a URL, and a directory named `memory:` is far likelier a typo of `memory://` than meant.
 */
const SCHEME = /^([a-z][a-z0-9+.-]+):(.*)$/is;

/** Hides a password however malformed the URL around it: `user:pass@` → `user:***@`. */
function maskLoosely(text: string): string {
  return text.replace(/([^:/@]+):[^@/]*@/, "$1:***@");
}

/** What the user most likely meant, from the scheme they typed; undefined when nothing is close. */
function suggestion(scheme: string, rest: string): string | undefined {
  const s = scheme.toLowerCase();
  const tail = rest.replace(/^\/+/, "");
  if (s.startsWith("mem")) return "memory:// (an in-memory database, gone on exit)";
  if (s === "file") return "a directory path, such as ./reev-db (or file:./reev-db)";
  if (s.startsWith("pglite") || s === "dir" || s === "embedded") {
    return tail ? `${tail} (a directory path: the embedded database lives there)` : "a directory path, such as ./reev-db, or memory://";
  }
  if (/^(postgr|pg|psql)/.test(s)) {
    return `${s === "postgres" || s === "postgresql" ? s : "postgresql"}://${maskLoosely(tail) || "user@host:5432/db"}`;
  }
  return undefined;
}

/**
 * Refuses a database URL that resolveTarget would otherwise take for a directory path or reject
 * without a clue: `memory:`, `postgres:/x`, `file:`, `pglite:x`, `postgre://…`, `mysql://…`. Each is
 * almost a known form (a "did you mean") or not one at all; both are refused before anything is
 * created, so a typo never becomes a directory.
 */
export function refuseMalformedUrl(raw: string): void {
  // `postgresql//user@host/db`, its colon lost: a path to a directory named "postgresql" that a
  // writing command would create. Said, with the URL it most likely was.
  const colonless = /^(postgres(?:ql)?|memory)(\/\/.*)$/is.exec(raw);
  if (colonless) {
    const shown = maskLoosely(raw);
    throw new DatabaseError(
      "VALIDATION",
      `"${shown}" is not a database URL reev knows. Did you mean ${colonless[1]}:${maskLoosely(colonless[2] ?? "")}? (For a directory of that name, write ./${shown}.)`,
      { field: "url" },
    );
  }
  const match = SCHEME.exec(raw);
  if (!match) return;
  const [, scheme = "", rest = ""] = match;
  const s = scheme.toLowerCase();
  const known =
    ((s === "postgres" || s === "postgresql") && rest.startsWith("//") && rest.length > 2) ||
    (s === "memory" && rest.startsWith("//")) ||
    (s === "file" && rest.replace(/^\/\//, "") !== "");
  if (known) return;
  const guess = suggestion(scheme, rest);
  const shown = `"${maskLoosely(raw)}"`;
  const colon = rest.startsWith("//") ? "" : ` (or ./${maskLoosely(raw)} for a directory with a colon in its name)`;
  const words = guess
    ? `${shown} is not a database URL reev knows. Did you mean ${guess}?`
    : `Unsupported database URL ${shown}: use postgresql://user@host:5432/db, memory://, or a directory path${colon}.`;
  throw new DatabaseError("VALIDATION", words, { field: "url" });
}
