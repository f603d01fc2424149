import { loadConfig } from "../../src/config/index.js";
import type { Logger } from "../../src/log.js";
import { nullLogger } from "../../src/log.js";
import type { MoverRegistry } from "../../src/movers/registry.js";
import {
  MoveItServer,
  type MoveItServerOptions,
} from "../../src/server/server.js";

export interface StartedServer {
  server: MoveItServer;
  publishPort: number;
  requestPort(chain?: string): number;
}

/** Start our server on 127.0.0.1 with ephemeral ports, closed after the test. */
/** Where cleanups go: a TestContext, or a suite's own list. */
export interface Cleanup {
  after(fn: () => unknown): void;
}

export async function startServer(
  t: Cleanup,
  ini: string,
  opts: {
    log?: Logger;
    movers?: MoverRegistry;
    stateDir?: string;
    disableBacklog?: boolean;
    settleMs?: number;
    extra?: Partial<MoveItServerOptions>;
  } = {},
): Promise<StartedServer> {
  const server = new MoveItServer({
    config: loadConfig(ini, "server", "test.ini"),
    log: opts.log ?? nullLogger,
    publishBind: "tcp://127.0.0.1:0",
    requestHost: "127.0.0.1",
    movers: opts.movers,
    stateDir: opts.stateDir,
    disableBacklog: opts.disableBacklog ?? true,
    settleMs: opts.settleMs ?? 100,
    // Fast heartbeats: `subscribe()` waits for one to know a subscriber is connected.
    heartbeatInterval: 0.1,
    backlogDelayMs: 0,
    ...opts.extra,
  });
  t.after(() => server.close(1000));
  await server.start();
  const first = loadConfig(ini, "server").chains[0]?.name ?? "";
  return {
    server,
    publishPort: server.publishPort,
    requestPort: (chain = first) => server.requestPort(chain),
  };
}
