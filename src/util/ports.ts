import { createServer } from "node:net";

/**
 * A TCP port on `host` that was free a moment ago (the OS picks it). For the
 * demo, the benchmark and tests, which start real peers on loopback.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string")
    throw new Error("no free port");
  return address.port;
}
