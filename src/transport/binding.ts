/**
 * Binding and releasing a listening ZeroMQ socket without leaving the main
 * thread.
 *
 * zeromq.js's `bind()` and `unbind()` run `zmq_bind`/`zmq_unbind` on a libuv
 * worker thread. A libzmq socket is not thread-safe, and while the worker
 * runs, the main thread still touches the same socket whenever its file
 * descriptor wakes a pending `receive()` or `send()` (the poll callback asks
 * for `ZMQ_EVENTS`, which processes the socket's command mailbox). Two threads
 * then process pipe-termination commands of one socket at once, which
 * corrupts the pipe state machine: libzmq aborts the process with
 * `_state == term_ack_sent || _state == term_req_sent2 (pipe.cpp:355)`,
 * `!_sink (pipe.cpp:118)` or heap corruption. An `unbind()` of a ROUTER whose
 * read loop is waiting, with peers connected, does it within a few hundred
 * rounds. (`unbindSync()` cannot replace it: zeromq.js 6.8 registers it as
 * `bindSync`.)
 *
 * So every libzmq call on a socket happens on the main thread: `bindSync`
 * to bind, and `close()` (never `unbind`) to release. `close()` hands the
 * socket to libzmq's reaper, which closes the listening descriptor a few
 * milliseconds later; `release()` waits for that, so a reload can rebind the
 * port as soon as the old socket's close has resolved.
 */
import { createServer } from "node:net";
import type * as zmq from "zeromq";

/** `tcp://host:0` → `tcp://host:*` (ZeroMQ's spelling of "any free port"). */
function zmqEndpoint(endpoint: string): string {
  return endpoint.replace(/:0$/, ":*");
}

/** The TCP port of a bound endpoint such as `tcp://0.0.0.0:40123` (0 if none). */
export function endpointPort(endpoint: string): number {
  return Number(/:(\d+)$/.exec(endpoint)?.[1] ?? 0);
}

/**
 * Bind `sock` to `endpoint` on the calling thread; returns the bound endpoint
 * with the real port. The error names the endpoint (`Address already in use:
 * tcp://*:9010`).
 */
export function bindSocket(sock: zmq.Socket, endpoint: string): string {
  const bind = zmqEndpoint(endpoint);
  try {
    sock.bindSync(bind);
  } catch (err) {
    const e = err as Error & { code?: string };
    const wrapped = new Error(`${e.message}: ${endpoint}`, {
      cause: err,
    }) as Error & { code?: string; endpoint?: string };
    wrapped.code = e.code;
    wrapped.endpoint = endpoint;
    throw wrapped;
  }
  return sock.lastEndpoint ?? bind;
}

/** The host part of `tcp://host:port` as node's `listen()` wants it. */
function listenHost(endpoint: string): string | undefined {
  const m = /^tcp:\/\/(.+):\d+$/.exec(endpoint);
  if (m === null) return undefined;
  const host = m[1]!;
  return host.startsWith("[") ? host.slice(1, -1) : host;
}

/** True when nothing listens on `host:port` any more (we could listen there). */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      resolve(err.code !== "EADDRINUSE"),
    );
    probe.listen({ host, port, exclusive: true }, () =>
      probe.close(() => resolve(true)),
    );
  });
}

/**
 * Close a bound socket and resolve once its listening port is released (at
 * most `waitMs` later; closing itself never fails).
 */
export async function releaseSocket(
  sock: zmq.Socket,
  boundEndpoint: string,
  waitMs = 2000,
): Promise<void> {
  if (!sock.closed) sock.close();
  const host = listenHost(boundEndpoint);
  const port = endpointPort(boundEndpoint);
  if (host === undefined || port === 0) return;
  const until = performance.now() + waitMs;
  let pause = 1;
  while (!(await portFree(host, port)) && performance.now() < until) {
    await new Promise((r) => setTimeout(r, pause));
    pause = Math.min(pause * 2, 50);
  }
}
