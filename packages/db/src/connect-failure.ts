import { isIP } from "node:net";
import { type DriverCause, driverCause, type PrismaLikeError } from "./errors.js";
import { maskUrl } from "./open-database.js";

/**
 * Why connecting to PostgreSQL failed, in plain words: `message` says what happened, `hint` what to
 * do next (naming `source`, where the URL came from). `missingDatabase` is set when the server answered
 * that the database does not exist: bad input, not a failure to connect (the CLI exits 2 for it).
 */
export type ConnectFailure = { message: string; hint: string; missingDatabase?: string };

/** An error and its causes, outermost first: how deep a connection failure hides its words depends on who wrapped it. */
function* causeChain(error: unknown): Generator<object> {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) yield e;
}

/** The driver's kind of failure, wherever in the chain Prisma, the migrations or openDatabase put it. */
function connectCause(error: unknown): DriverCause | undefined {
  for (const e of causeChain(error)) {
    const cause = driverCause(e as PrismaLikeError);
    if (typeof cause?.kind === "string") return cause;
  }
  return undefined;
}

/** pg's own words when the server asks for a password (SCRAM) and the URL has none: it has no error code for it. */
function askedForPassword(error: unknown): boolean {
  for (const e of causeChain(error)) if (e instanceof Error && e.message.includes("client password must be a string")) return true;
  return false;
}

function parsed(url: string | undefined): URL | undefined {
  try {
    return url === undefined ? undefined : new URL(url);
  } catch {
    return undefined;
  }
}

/**
 * The words for a failed connection to the PostgreSQL server at `url` (the resolved postgresql://…
 * URL; its password never appears), or undefined when the error is not one the driver classified.
 * One classification for openDatabase, reev's CLI and `pnpm db:migrate`, each naming its own `source`
 * (`--db`, `REEV_DATABASE_URL`, `the URL`).
 */
export function connectFailure(error: unknown, url: string | undefined, source: string): ConnectFailure | undefined {
  const where = url === undefined ? "" : ` (${maskUrl(url)})`;
  const u = parsed(url);
  if (askedForPassword(error))
    return {
      message: `The PostgreSQL server asks for a password, and ${source} gives none${where}.`,
      hint: `Put the password in ${source} (postgresql://USER:PASSWORD@HOST/DB), or set PGPASSWORD.`,
    };
  const cause = connectCause(error);
  if (!cause) return undefined;
  const originalMessage = typeof cause.originalMessage === "string" ? cause.originalMessage : undefined;
  switch (cause.kind) {
    case "DatabaseNotReachable": {
      // The driver names the address it tried, or the host name when there was none to try: a name
      // that does not resolve (a typo), not a server to start. (A path is a unix socket's directory.)
      const host = typeof cause.host === "string" ? cause.host : undefined;
      if (host && !isIP(host) && !host.startsWith("/"))
        return { message: `The PostgreSQL host name "${host}" does not resolve${where}.`, hint: `Fix the host name in ${source}.` };
      const server = host ? ` at ${host}${cause.port ? `:${String(cause.port)}` : ""}` : "";
      return {
        message: `Cannot reach the PostgreSQL server${server}${where}.`,
        hint: `Start the server, or fix the host and port in ${source}.`,
      };
    }
    case "DatabaseDoesNotExist": {
      const db = typeof cause.db === "string" ? cause.db : undefined;
      return {
        message: `The PostgreSQL server has no database "${db ?? "?"}"${where}.`,
        hint: `Create it (createdb ${db ?? "NAME"}), or fix the database name in ${source}.`,
        missingDatabase: db ?? "?",
      };
    }
    case "DatabaseAccessDenied":
    case "AuthenticationFailed":
      // A hint copied as printed carries the mask, not the password it stands for.
      if (u && decodeURIComponent(u.password) === "***")
        return {
          message: `The PostgreSQL server refused the login${where}: the password in ${source} is ***, the mask reev prints in place of a password.`,
          hint: `Put the real password back in place of *** in ${source}.`,
        };
      return {
        message: `The PostgreSQL server refused the login: ${originalMessage ?? "access denied"}${where}.`,
        hint: `Check the user and password in ${source}.`,
      };
    case "TlsConnectionError": {
      // pg reports only the reason; the server is the URL's. (node-postgres's own SECURITY WARNING about
      // how it reads sslmode stays: it is the driver's note on a setting that matters, printed once.)
      const server = u ? ` at ${u.hostname}:${u.port || "5432"}` : "";
      const mode = u?.searchParams.get("sslmode");
      const asked = mode ? `sslmode=${mode}` : u?.searchParams.has("ssl") ? `ssl=${u.searchParams.get("ssl")}` : "its settings";
      const reason = typeof cause.reason === "string" ? cause.reason : undefined;
      if (reason === "The server does not support SSL connections")
        return {
          message: `The PostgreSQL server${server} does not accept SSL connections, and ${source} asks for SSL with ${asked}${where}.`,
          hint: `Remove sslmode from ${source}, or enable SSL on the server.`,
        };
      // Node's words for a certificate signed by itself, not by a CA the process trusts. node-postgres
      // checks the certificate for require as for verify-full (its SECURITY WARNING says so).
      if (reason?.startsWith("self-signed certificate"))
        return {
          message: `The PostgreSQL server${server} sent a certificate that is not trusted (${reason}), and ${source} asks for SSL with ${asked}, which checks it${where}.`,
          hint: `Add the server's CA certificate to ${source} as sslrootcert=/path/to/root.crt, or use sslmode=no-verify to encrypt without checking the certificate.`,
        };
      return {
        message: `Could not open the SSL connection that ${source} asks for with ${asked} to the PostgreSQL server${server}: ${reason ?? "TLS error"}${where}.`,
        hint: `Check the server's SSL setup and the SSL settings (sslmode, sslrootcert) in ${source}.`,
      };
    }
    default:
      return {
        message: `Could not connect to PostgreSQL: ${originalMessage ?? String(cause.kind)}${where}.`,
        hint: `Check that the server is running and that ${source} is right.`,
      };
  }
}
