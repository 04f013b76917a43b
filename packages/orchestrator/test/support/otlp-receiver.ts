/**
 * A local OTLP/HTTP trace receiver on loopback, for the export tests of @reev/orchestrator and
 * @reev/cli: it decodes every request with the official OTLP protobuf definitions and keeps the
 * spans it received, flattened for assertions. `answer` makes it fail the way collectors do.
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

// The protobufjs code generated from opentelemetry-proto's .proto files, as @opentelemetry/otlp-transformer
// shipped it up to 0.52 (later versions encode by hand and decode nothing): the official definitions,
// not a decoder of ours. Aliased in package.json as otlp-proto-root; untyped, so read through `unknown`.
const require = createRequire(import.meta.url);
type Decoder = { decode(bytes: Uint8Array): unknown; toObject(message: unknown, options: Record<string, unknown>): unknown };
const protoRoot = require("otlp-proto-root/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: Decoder } } } } };
};
const ExportTraceServiceRequest = protoRoot.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

type AnyValue = { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value?: AnyValue };
type DecodedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  events?: { timeUnixNano: string; name: string; attributes?: KeyValue[] }[];
  status?: { code?: number; message?: string };
};
type DecodedRequest = {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: DecodedSpan[] }[];
  }[];
};

export type AttributeValue = string | number | boolean;

/** One span as received: ids in hex, times in nanoseconds since the epoch (bigint), attributes flattened. */
export type ReceivedSpan = {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  start: bigint;
  end: bigint;
  attributes: Record<string, AttributeValue>;
  events: { name: string; time: bigint; attributes: Record<string, AttributeValue> }[];
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
  resource: Record<string, AttributeValue>;
  scope: string;
};

export type ReceivedRequest = { path: string; headers: IncomingHttpHeaders; spans: ReceivedSpan[] };

function value(v: AnyValue | undefined): AttributeValue {
  if (v?.stringValue !== undefined) return v.stringValue;
  if (v?.intValue !== undefined) return Number(v.intValue);
  if (v?.doubleValue !== undefined) return v.doubleValue;
  if (v?.boolValue !== undefined) return v.boolValue;
  throw new Error(`Unexpected attribute value ${JSON.stringify(v)}`);
}

const flat = (attributes: KeyValue[] | undefined): Record<string, AttributeValue> =>
  Object.fromEntries((attributes ?? []).map((kv) => [kv.key, value(kv.value)]));

/** Decodes one ExportTraceServiceRequest body into its spans. */
export function decodeTraces(body: Uint8Array): ReceivedSpan[] {
  const message = ExportTraceServiceRequest.decode(body);
  const request = ExportTraceServiceRequest.toObject(message, { longs: String, bytes: String, defaults: false }) as DecodedRequest;
  const hex = (base64: string | undefined) => Buffer.from(base64 ?? "", "base64").toString("hex");
  return (request.resourceSpans ?? []).flatMap((rs) =>
    (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: hex(s.traceId),
        spanId: hex(s.spanId),
        parentSpanId: hex(s.parentSpanId),
        name: s.name,
        kind: s.kind,
        start: BigInt(s.startTimeUnixNano),
        end: BigInt(s.endTimeUnixNano),
        attributes: flat(s.attributes),
        events: (s.events ?? []).map((e) => ({ name: e.name, time: BigInt(e.timeUnixNano), attributes: flat(e.attributes) })),
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? "" },
        resource: flat(rs.resource?.attributes),
        scope: ss.scope?.name ?? "",
      })),
    ),
  );
}

export type OtlpReceiver = {
  /** http://127.0.0.1:PORT — append /v1/traces for the traces endpoint. */
  baseUrl: string;
  url: string;
  requests: ReceivedRequest[];
  /** Every span received, in order. */
  spans(): ReceivedSpan[];
  /** The HTTP status every request gets from now on (200: accepted); "never": no answer at all, the request is held open. */
  answer(status: number | "never"): void;
  /** Requests that came in, whatever the answer (a failing receiver decodes nothing). */
  readonly hits: number;
  /** When each request arrived (its headers), in performance.now() time, whatever the answer. */
  readonly arrivals: readonly number[];
  /** Resolves once `count` requests in all have arrived. */
  arrived(count: number): Promise<void>;
  close(): Promise<void>;
};

/** `port`: a given one (a collector coming up where an export already looks); default any free one. */
export async function startOtlpReceiver({ port: wanted = 0 }: { port?: number } = {}): Promise<OtlpReceiver> {
  let status: number | "never" = 200;
  const requests: ReceivedRequest[] = [];
  const arrivals: number[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const receiver = {
    hits: 0,
  };
  const server = createServer((req, res) => {
    arrivals.push(performance.now());
    for (const w of waiters.filter((w) => arrivals.length >= w.count)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      receiver.hits += 1;
      if (status === "never") return;
      if (status !== 200) {
        res.writeHead(status, { "content-type": "text/plain" }).end(`receiver answers ${status}`);
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
      try {
        requests.push({ path: req.url ?? "", headers: req.headers, spans: decodeTraces(body) });
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } catch (error) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(error));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(wanted, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    url: `${baseUrl}/v1/traces`,
    requests,
    spans: () => requests.flatMap((r) => r.spans),
    answer: (next) => {
      status = next;
    },
    get hits() {
      return receiver.hits;
    },
    arrivals,
    arrived: (count) => (arrivals.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
