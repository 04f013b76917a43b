import { once } from "node:events";
import { closestWord, didYouMean } from "@reev/orchestrator";
import type { Command } from "commander";
import { CliError, invalidArgument } from "../cli-error.js";
import { type CliContext, type CliIO, changedNow, withDatabase } from "../context.js";
import { counted } from "../format.js";
import {
  alreadyStopping,
  exitAtOnce,
  type InterruptNotices,
  interruptExitCode,
  interruptionOf,
  takesOverInterrupts,
  withInterrupts,
} from "../interrupt.js";
import { staleAfterMs } from "../liveness.js";
import { type DbOptions, dbOption, duration, examples, formatAge, integer } from "../options.js";
import { loadPrices, PRICES_HELP, pricesOption } from "../prices.js";

type ServeOptions = DbOptions & {
  host: string;
  port: number;
  cors?: CorsOrigin | undefined;
  retention?: number | undefined;
  prices?: string | undefined;
};

export function registerServe(program: Command, ctx: CliContext): void {
  // Its action takes the signals over first: start-up takes seconds, and a Ctrl-C then must stop it.
  takesOverInterrupts(program.command("serve"))
    .summary("serve the API and the web viewer of recorded runs")
    .description("Serve the HTTP API (/api/v1), live event streams and the web viewer of the recorded runs, until Ctrl-C.")
    .option("--host <host>", "the address to listen on (loopback unless you say otherwise)", "127.0.0.1")
    .option("--port <port>", "the port to listen on, 0 for any free one", integer("--port", 0, 65_535), 7878)
    .option(
      "--cors <origin>",
      "let web pages from this origin (scheme://host[:port], or * for any) call the API (CORS is off without it)",
      corsOrigin,
    )
    .option(
      "--retention <age>",
      "purge runs that finished longer ago than this (30d, 12h…) at start and every hour, as reev purge --older-than does",
      duration("--retention"),
    )
    .addOption(pricesOption("model prices per million tokens (YAML or JSON): the cost of the runs this server starts or consolidates"))
    .addOption(dbOption())
    .addHelpText(
      "after",
      [
        examples([
          ["reev serve", "the embedded database's runs at http://127.0.0.1:7878"],
          ["REEV_API_TOKEN=… reev serve --db postgresql://…", "…with POST routes enabled, and runs of other processes live"],
          ["reev serve --retention 30d", "…and delete runs that finished over 30 days ago, hourly"],
          ["reev serve --prices prices.yaml", "…and price the tokens of the runs POSTed to it"],
        ]),
        "",
        "Write routes (POST) need the bearer token in REEV_API_TOKEN; without it they answer 401.",
        "A running run whose heartbeat is older than REEV_STALE_AFTER_MS (in ms; default 2 minutes) is shown stale,",
        "as reev list shows it.",
        PRICES_HELP,
        "Exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 could not serve (the port is in use, the database cannot be",
        "opened), 2 bad input (nothing was served), 130 (143) Ctrl-C (SIGTERM) before it served (while it started).",
      ].join("\n"),
    )
    .action(async (options: ServeOptions) => {
      ctx.exitCode = await serveCommand(options, ctx.io);
    });
}

/** A --cors value: the origin the API allows, and what was given for it. */
type CorsOrigin = { origin: string; given: string };

/**
 * --cors as a browser's Origin header says it: `scheme://host[:port]`, which the API compares as is,
 * so `http://example.com/` allowed no page at all. A lone trailing slash is taken off (and said on
 * startup); a path, a query or no host is refused before anything is opened.
 */
function corsOrigin(given: string): CorsOrigin {
  if (given === "*") return { origin: given, given };
  const typed = given.replace(/(?<!\/)\/$/, "");
  let url: URL | undefined;
  try {
    url = new URL(typed);
  } catch {
    url = undefined;
  }
  // scheme://host[:port] and nothing else: no path, query, fragment or user@.
  if (!url || !/^[a-z][a-z\d+.-]*:\/\/[^/?#@\s]+$/i.test(typed))
    throw invalidArgument(
      `--cors takes an origin, as a browser sends it: scheme://host[:port] with no path, such as http://localhost:5173 or https://example.com; got "${given}".`,
      "--cors",
      "Give the origin of the page that calls the API, or * for any page.",
    );
  // As browsers write it: lower case, without the scheme's default port. (Other schemes' origins are opaque to URL.)
  return { origin: url.origin === "null" ? typed : url.origin, given };
}

/** The startup line of --cors: which pages may call the API, and what became of a trailing slash. */
function corsNotice({ origin, given }: CorsOrigin): string {
  if (origin === "*") return "CORS: web pages from any origin may call the API.\n";
  const why = given.endsWith("/") ? ": an origin has no path, not even /" : ", as browsers send it";
  const taken = given === origin ? "" : ` (--cors ${given} is taken as ${origin}${why})`;
  return `CORS: web pages from ${origin} may call the API${taken}.\n`;
}

/**
 * Serves until SIGINT or SIGTERM (or `stop` aborts), then shuts down gracefully: no new requests,
 * event streams ended, runs started here recorded failed with "server shutting down", the database
 * closed last. Returns 0. A signal before the URL is printed stops the start-up instead: what was
 * opened is closed, nothing was served, and it returns 130 (SIGINT) or 143 (SIGTERM).
 */
export async function serveCommand(options: ServeOptions, io: CliIO, stop?: AbortSignal): Promise<number> {
  let serving = false;
  const notices: InterruptNotices = {
    // Once serving, the shutdown says what it does (startAndServe).
    first: (name) => (serving ? "" : `Interrupted (${name}) while reev serve was starting: nothing was served.\n`),
    again: (name) =>
      serving
        ? `\n${name} again: exiting at once. Runs started here and still going stay "running" until reev recover finishes them.\n`
        : `\n${name} again: exiting at once. Nothing was served.\n`,
    already: alreadyStopping,
  };
  const { value: served, interrupted } = await withInterrupts(
    io,
    (signal) =>
      startAndServe(options, io, stop ? AbortSignal.any([stop, signal]) : signal, () => {
        serving = true;
      }),
    { notices },
  );
  return served || !interrupted ? 0 : interruptExitCode(interrupted);
}

/**
 * Starts the server and serves until `stop`; false when `stop` came before the URL was printed. The
 * start-up's steps cannot be cut short, so `stop` is looked at after each: what was opened is closed.
 */
async function startAndServe(options: ServeOptions, io: CliIO, stop: AbortSignal, serving: () => void): Promise<boolean> {
  const token = process.env.REEV_API_TOKEN?.trim() || undefined;
  // Read before the database is opened: a bad price file is exit 2 and nothing is served.
  const prices = await loadPrices(options.prices);
  // The viewer judges stale and abandoned runs by the threshold reev list and reev status use.
  const stale = staleAfterMs();
  if (stop.aborted) return false;
  // Loaded here, not with the CLI: the server's modules were a fifth of every reev command's start-up
  // CPU. Loading while the database opens; awaited only after it.
  const loading = import("@reev/server");
  // A load that fails after an interruption has nobody to tell; one that fails otherwise is awaited below.
  loading.catch(() => {});
  // An explicit directory that does not exist is a typo more often than a wish for a new, empty viewer;
  // the default one is created, as the README's first `reev serve` needs.
  return withDatabase(options.db, options.db === undefined ? "write" : "update", async (db) => {
    if (stop.aborted) return false;
    io.stderr.write(`Database: ${db.description}${changedNow(db)}\n`);
    const { createServer } = await loading;
    if (stop.aborted) return false;
    const retention = options.retention === undefined ? undefined : { olderThanMs: options.retention };
    const server = createServer({ db, token, corsOrigin: options.cors?.origin, retention, prices, staleAfterMs: stale });
    const { url, address } = await server.listen({ host: options.host, port: options.port }).catch(async (error: unknown) => {
      // What listen started (PostgreSQL's change listener) is stopped, so the process ends and the database is released.
      await server.close();
      throw listenFailure(error, options);
    });
    if (stop.aborted) {
      await server.close();
      return false;
    }
    if (!token) io.stderr.write("Write routes (POST) are disabled: set REEV_API_TOKEN to enable them.\n");
    if (!token && !isLoopback(options.host)) {
      io.stderr.write(
        `Warning: listening on ${options.host} without REEV_API_TOKEN: anyone who can reach this address can read every run.\n`,
      );
    }
    if (address === "0.0.0.0" || address === "::") {
      io.stderr.write(
        `Listening on all interfaces (${options.host}): from another machine, open this machine's address on the same port.\n`,
      );
    }
    if (options.cors) io.stderr.write(corsNotice(options.cors));
    if (prices) io.stderr.write(`Prices: ${options.prices} prices the runs this server starts or consolidates.\n`);
    if (options.retention !== undefined) {
      io.stderr.write(`Retention: runs that finished over ${formatAge(options.retention)} ago are purged now and every hour.\n`);
    }
    if (db.target.kind !== "postgres") {
      io.stderr.write("Embedded database: only runs started through this server are live (other processes cannot open it meanwhile).\n");
    }
    // From the URL on, a signal is a shutdown: whoever reads the URL may stop the server at once.
    serving();
    io.stdout.write(`reev serve: ${url}\n`);
    await once(stop, "abort");
    const runs = server.activeRuns;
    // A step may think for minutes: whoever waits (or a supervisor's grace period) should know the way out.
    const signal = interruptionOf(stop);
    const way = runs && signal ? ` ${exitAtOnce(signal)}` : "";
    io.stderr.write(
      runs ? `Shutting down: finishing the current step of the ${counted(runs, "run")} started here…${way}\n` : "Shutting down…\n",
    );
    await server.close();
    io.stderr.write("Stopped.\n");
    return true;
  });
}
/**
 * The port taken (or not ours to take) in plain words. Exit 1, not 2: the command is right, the
 * machine's state is what stops it, and the same command works once the port is free.
 */
function listenFailure(error: unknown, { host, port }: ServeOptions): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE") {
    return new CliError("IO", `Port ${port} on ${host} is already in use (another reev serve?).`, {
      field: "--port",
      hint: "Stop what uses it, or pass --port with a free port (--port 0 picks one).",
      cause: error,
    });
  }
  if (code === "EACCES") {
    return new CliError("IO", `Port ${port} on ${host} may not be used by this user (ports below 1024 need privileges).`, {
      field: "--port",
      hint: "Pass --port with a port from 1024 up (--port 0 picks a free one).",
      cause: error,
    });
  }
  // A host that names no address of this machine is a typo, not the machine's state: bad input (exit 2).
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return new CliError(
      "INVALID_ARGUMENT",
      `--host ${host} is no name or address this machine can resolve.${didYouMean(closestWord(host, ["localhost"]))}`,
      {
        field: "--host",
        hint: "Pass an address of this machine: 127.0.0.1 (this machine only, the default), 0.0.0.0 (every interface), or a host name it resolves.",
        cause: error,
      },
    );
  }
  if (code === "EADDRNOTAVAIL") {
    return new CliError("INVALID_ARGUMENT", `--host ${host} is not an address of this machine, so nothing can listen on it.`, {
      field: "--host",
      hint: "Pass one of its addresses: 127.0.0.1 (this machine only, the default), 0.0.0.0 (every interface), or the address of one of its network interfaces.",
      cause: error,
    });
  }
  return error;
}

const isLoopback = (host: string) => host === "localhost" || host === "::1" || host.startsWith("127.");
