/**
 * The API scenario's server process: `reev serve`'s app (createServer) and the bare `node:http`
 * handler, side by side in one process over one database (on PGlite the bare side queries the
 * writer's own engine, as every scenario's raw side does). argv: the database URL. It sends
 * { type: "ready", reevUrl, bareUrl } over IPC, answers { type: "rss" } with its resident set size,
 * and on { type: "stop" } closes both servers and the database and exits.
 */
import type { AddressInfo } from "node:net";
import { type Database, openDatabase } from "@reev/db";
import { createServer } from "@reev/server";
import { createBareApi } from "./bare-api.js";
import { pgliteDriver, pgPoolDriver, type RawDriver } from "./raw-driver.js";
import { openWithPGlite } from "./writer-pglite.js";

/** PrismaPg's pool size: the bare side's pool is as big. */
const POOL_SIZE = 10;

export type ChildMessage = { type: "ready"; reevUrl: string; bareUrl: string } | { type: "rss"; rss: number };
export type ParentMessage = { type: "rss" } | { type: "stop" };

async function open(url: string): Promise<{ db: Database; raw: RawDriver }> {
  if (/^postgres(ql)?:\/\//.test(url)) return { db: await openDatabase({ url }), raw: pgPoolDriver(url, POOL_SIZE) };
  const { db, pglite } = await openWithPGlite(url);
  return { db, raw: pgliteDriver(pglite) };
}

const send = (message: ChildMessage) => process.send?.(message);

const { db, raw } = await open(process.argv[2] as string);
const reev = createServer({ db, log: (line) => process.stderr.write(`api server: ${line}\n`) });
const { url: reevUrl } = await reev.listen({ host: "127.0.0.1", port: 0 });
const bare = createBareApi(raw);
await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

process.on("message", (message: ParentMessage) => {
  if (message.type === "rss") send({ type: "rss", rss: process.memoryUsage().rss });
  if (message.type === "stop") {
    void (async () => {
      await reev.close();
      bare.closeAllConnections();
      await new Promise((resolve) => bare.close(resolve));
      await raw.close();
      await db.close();
      process.disconnect();
    })();
  }
});
send({ type: "ready", reevUrl, bareUrl });
