/**
 * The operator's view of a running daemon, on an HTTP port of its own
 * (`--status-port`): `GET /` the status page, `GET /status` the status
 * document as JSON (docs/observability.md), `GET /metrics` Prometheus
 * text format. Everything shown comes from the daemon's Observer.
 */
import { BindError } from "../errors.js";
import { createServer, type Server } from "node:http";
import type { Logger } from "../log.js";
import type { Observer } from "../observe/observer.js";
import { STATUS_PAGE } from "../observe/page.js";

export interface StatusServer {
  port: number;
  close(): Promise<void>;
}

export interface StatusServerOptions {
  host: string;
  port: number;
  observer: Observer;
  /** The daemon's raw counters, kept in /status as `stats`. */
  stats: () => unknown;
  log: Logger;
}

/** Serve /, /status and /metrics on host:port (port 0: any free one). */
export async function startStatusServer(
  opts: StatusServerOptions,
): Promise<StatusServer> {
  const { observer } = opts;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD" }).end();
      } else if (path === "/" || path === "/index.html") {
        res.writeHead(200, {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
        });
        res.end(STATUS_PAGE);
      } else if (path === "/status") {
        res.writeHead(200, {
          "content-type": "application/json",
          "cache-control": "no-store",
        });
        res.end(
          JSON.stringify(
            observer.status(process.uptime(), opts.stats()),
            null,
            2,
          ),
        );
      } else if (path === "/metrics") {
        const text = await observer.metrics.text();
        res.writeHead(200, { "content-type": observer.metrics.contentType });
        res.end(text);
      } else {
        res
          .writeHead(404, { "content-type": "text/plain" })
          .end("try /, /status or /metrics\n");
      }
    })().catch((err: unknown) => {
      opts.log.warn({ err }, "status request failed");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) =>
    server
      .once("error", reject)
      .listen(opts.port, opts.host === "*" ? undefined : opts.host, resolve),
  ).catch((err: unknown) => {
    throw new BindError(
      `status port ${opts.port} (--status-port)`,
      `http://${opts.host}:${opts.port}`,
      err,
    );
  });
  const addr = server.address();
  const port =
    typeof addr === "object" && addr !== null ? addr.port : opts.port;
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
