/**
 * A TCP relay on 127.0.0.1 that forwards to `target` at most
 * `bytesPerSecond` each way per connection: an upload or download through it
 * takes at least size / rate, however fast the machine, so a test can be
 * sure to see it in progress and act while it runs, with a small file.
 */
import { createServer, connect, type Socket } from "node:net";
import type { TestContext } from "node:test";

export interface Throttle {
  port: number;
  close(): Promise<void>;
}

/** Pipe `from` into `to`, pausing `from` after each chunk for as long as the chunk takes at `rate`. */
function paced(from: Socket, to: Socket, rate: number): void {
  from.on("data", (chunk: Buffer) => {
    to.write(chunk);
    from.pause();
    setTimeout(() => from.resume(), (chunk.length / rate) * 1000);
  });
  from.on("end", () => to.end());
  from.on("error", () => to.destroy());
  from.on("close", () => to.destroy());
}

/** Start a throttled relay to `host:port`; closed after the test. */
export async function startThrottle(
  t: TestContext,
  target: { host: string; port: number },
  bytesPerSecond: number,
): Promise<Throttle> {
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    const outbound = connect(target.port, target.host);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }
    paced(inbound, outbound, bytesPerSecond);
    paced(outbound, inbound, bytesPerSecond);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  };
  t.after(close);
  return { port: (server.address() as { port: number }).port, close };
}
