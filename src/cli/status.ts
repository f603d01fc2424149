/**
 * The operator's view of a running daemon, on an HTTP port of its own
 * (`--status-port`): `GET /status` is the counters as JSON, `GET /metrics`
 * the same counters plus process metrics in Prometheus text format.
 *
 * Counters are flattened from the daemon's stats object: object keys under
 * `chains`, `listeners` and `requests` become `chain`, `provider` and
 * `type` labels; other keys make the metric name.
 */
import { BindError } from "../errors.js";
import { createServer, type Server } from "node:http";
import { Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { Logger } from "../log.js";

const LABEL_OF: Record<string, string> = { chains: "chain", listeners: "provider", requests: "type" };

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^a-zA-Z0-9_]/g, "_").toLowerCase();
}

/** Numeric leaves of a stats tree as metric samples. */
export function flatten(prefix: string, value: unknown, labels: Record<string, string> = {}, out: Sample[] = []): Sample[] {
  if (typeof value === "number" && Number.isFinite(value)) out.push({ name: prefix, labels, value });
  if (value === null || typeof value !== "object") return out;
  for (const [key, child] of Object.entries(value)) {
    const label = LABEL_OF[key];
    if (label !== undefined && child !== null && typeof child === "object") {
      for (const [k, v] of Object.entries(child)) flatten(prefix, v, { ...labels, [label]: k }, out);
    } else {
      flatten(`${prefix}_${snake(key)}`, child, labels, out);
    }
  }
  return out;
}

function registry(program: string, stats: () => unknown): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg, prefix: `${program}_` });
  const gauges = new Map<string, Gauge>();
  const refresh = (): void => {
    for (const s of flatten(program, stats())) {
      let g = gauges.get(s.name);
      if (g === undefined) {
        g = new Gauge({ name: s.name, help: `${s.name.replace(/_/g, " ")} (see README, Status and metrics)`, labelNames: Object.keys(s.labels), registers: [reg] });
        gauges.set(s.name, g);
      }
      g.set(s.labels, s.value);
    }
  };
  return Object.assign(reg, { refresh });
}

export interface StatusServer {
  port: number;
  close(): Promise<void>;
}

/** Serve /status and /metrics on host:port (port 0: any free one). */
export async function startStatusServer(opts: { program: string; host: string; port: number; stats: () => unknown; log: Logger }): Promise<StatusServer> {
  const reg = registry(opts.program, opts.stats) as Registry & { refresh(): void };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.url === "/status") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ program: opts.program, uptimeSeconds: process.uptime(), stats: opts.stats() }, null, 2));
      } else if (req.url === "/metrics") {
        reg.refresh();
        res.writeHead(200, { "content-type": reg.contentType });
        res.end(await reg.metrics());
      } else {
        res.writeHead(404).end("try /status or /metrics\n");
      }
    })().catch((err: unknown) => {
      opts.log.warn({ err }, "status request failed");
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(opts.port, opts.host === "*" ? undefined : opts.host, resolve)).catch((err: unknown) => {
    throw new BindError(`status port ${opts.port} (--status-port)`, `http://${opts.host}:${opts.port}`, err);
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : opts.port;
  opts.log.info({ port }, "status server listening");
  // One close promise; open keep-alive connections are cut so it cannot hang.
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
    return closing;
  };
  return { port, close };
}
