/**
 * Integration set-up for the client: our server(s) and client on 127.0.0.1
 * with ephemeral ports, everything closed after the test.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import {
  MoveItClient,
  type MoveItClientOptions,
} from "../../src/client/client.js";
import { loadConfig } from "../../src/config/index.js";
import { nullLogger } from "../../src/log.js";
import type { Message } from "../../src/message/index.js";
import type { MoverRegistry } from "../../src/movers/registry.js";
import { startServer, type StartedServer } from "./server.js";
import { tempDir } from "./tmp.js";
import { waitFor } from "./wait.js";

export interface TestServer extends StartedServer {
  inDir: string;
  /** `127.0.0.1:<request port>`: the request_address of its announcements. */
  address: string;
}

/** A server with one chain `[name]` watching `<tmp>/in/{name}.dat` on `topic`. */
export async function testServer(
  t: TestContext,
  topic: string,
  opts: { movers?: MoverRegistry; extra?: string } = {},
): Promise<TestServer> {
  const dir = await tempDir(t, "move_it-srv-");
  const inDir = join(dir, "in");
  await mkdir(inDir);
  const ini = `[s]\norigin = ${inDir}/{name}.dat\ntopic = ${topic}\nrequest_port = 0\nrequest_address = 127.0.0.1\n${opts.extra ?? ""}`;
  const srv = await startServer(t, ini, { movers: opts.movers });
  return { ...srv, inDir, address: `127.0.0.1:${srv.requestPort()}` };
}

/** Put a file into place atomically (written aside, then renamed), as a reception system does. */
export async function dropFile(
  dir: string,
  name: string,
  content: string,
): Promise<string> {
  const tmp = join(dir, `.${name}.tmp`);
  await writeFile(tmp, content);
  const path = join(dir, name);
  await rename(tmp, path);
  return path;
}

export interface TestClient {
  client: MoveItClient;
  /** Every republished message, with its chain and when it came (Date.now()). */
  received: Array<{ chain: string; message: Message; at: number }>;
}

/** Start a client from ini text, publishers on 127.0.0.1, closed after the test. */
export async function startClient(
  t: TestContext,
  ini: string,
  opts: Partial<MoveItClientOptions> = {},
): Promise<TestClient> {
  const received: TestClient["received"] = [];
  const client = new MoveItClient({
    config: loadConfig(ini, "client", "client.ini"),
    log: nullLogger,
    publishHost: "127.0.0.1",
    onReceived: (chain, message) =>
      received.push({ chain, message, at: Date.now() }),
    drainMs: 1000,
    ...opts,
  });
  t.after(() => client.close());
  await client.start();
  return { client, received };
}

/** A client section listening to `providers` (`host:port` list). */
export function clientIni(
  name: string,
  providers: string[],
  topic: string,
  destination: string,
  extra = "",
): string {
  return `[${name}]\nproviders = ${providers.join(" ")}\ndestination = ${destination}\ntopic = ${topic}\npublish_port = 0\nnameservers = false\n${extra}`;
}

/** Wait until every listener of `chain` has heard at least one heartbeat (so it is connected). */
export async function waitConnected(
  client: MoveItClient,
  chain: string,
  providers: number,
): Promise<void> {
  await waitFor(() => {
    const listeners = Object.values(
      client.stats().chains[chain]?.listeners ?? {},
    );
    return (
      listeners.length === providers && listeners.every((l) => l.heartbeats > 0)
    );
  }, `listeners of ${chain} connected`);
}

/** A fresh output directory (with trailing slash). */
export async function outDir(t: TestContext): Promise<string> {
  return `${await tempDir(t, "move_it-out-")}/`;
}
