/**
 * move_it_client CONFIG [-l FILE] [-v] [-c LOGCONFIG] [--state-dir DIR] [--catch-up 12h|ISO] [--check]
 */
import { hideBin } from "yargs/helpers";
import { MoveItClient } from "../client/index.js";
import type { ClientChainConfig, LoadedConfig } from "../config/index.js";
import { ledgerPath } from "../ledger/sqlite.js";
import { parseCommand } from "./args.js";
import { runCheck } from "./check.js";
import {
  STATE_DIR_OPTION,
  daemonOf,
  observerFor,
  programArgs,
  readConfig,
  rootLogger,
  runMain,
  stateDirFor,
  startAll,
  supervise,
} from "./common.js";
import { applyPosttrollSettings } from "./posttroll-settings.js";

export function clientArgs(argv: string[]) {
  return programArgs(
    argv,
    "move_it_client",
    "Subscribe to servers, fetch each announced file once, republish it.",
    "the publish sockets",
  )
    .option("state-dir", {
      ...STATE_DIR_OPTION,
      describe: `where the client ledger is kept (default: ${STATE_DIR_OPTION.describe.replace(/^where state is kept \(default: /, "")}`,
    })
    .option("catch-up", {
      type: "string",
      describe:
        "one-off pass: fetch what the known servers announced since this (12h, 30m, 2d or an ISO time), print a summary, exit",
    })
    .strict();
}

/** `12h`, `30m`, `2d`, `45s` before now, or an ISO-8601 time (UTC when it names no zone). */
export function parseSince(text: string, now = Date.now()): Date {
  const rel = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(text.trim());
  if (rel !== null) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
      rel[2] as "s" | "m" | "h" | "d"
    ];
    return new Date(now - Number(rel[1]) * unit);
  }
  const iso = /^\d{4}-\d{2}-\d{2}(T[\d:.]+)?$/.test(text.trim())
    ? `${text.trim()}Z`
    : text.trim();
  const at = new Date(iso);
  if (Number.isNaN(at.getTime()))
    throw new Error(
      `--catch-up: "${text}" is neither a duration (12h, 30m, 2d) nor an ISO time`,
    );
  return at;
}

/** The one-off pass binds its publishers on free ports: a running daemon may hold the configured ones. */
function anyPorts(
  config: LoadedConfig<ClientChainConfig>,
): LoadedConfig<ClientChainConfig> {
  return {
    ...config,
    chains: config.chains.map((c) => ({ ...c, publishPort: 0 })),
  };
}

async function main(): Promise<void> {
  const args = await parseCommand(
    clientArgs(hideBin(process.argv)),
    hideBin(process.argv),
    "move_it_client",
  );
  if (args.check) {
    process.exitCode = await runCheck({
      program: "move_it_client",
      role: "client",
      file: args.config,
      host: args.host,
      statusPort: args["status-port"],
      out: (l) => process.stdout.write(`${l}\n`),
    });
    return;
  }
  const since =
    args["catch-up"] === undefined ? undefined : parseSince(args["catch-up"]);
  const log = await rootLogger("move_it_client", args);
  await applyPosttrollSettings(log);
  const file = args.config;
  const stateDir = await stateDirFor(args["state-dir"], file, log);
  const config = await readConfig(file, "client", log, since === undefined);
  const ledgerFile = ledgerPath(stateDir, "client");
  if (since !== undefined) {
    const client = new MoveItClient({
      config: anyPorts(config),
      log,
      publishHost: args.host,
      ledgerFile,
    });
    await client.start();
    const report = await client.catchUp(since);
    await client.close();
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exitCode =
      report.failed + report.givenUp + report.unfinished > 0 ? 1 : 0;
    return;
  }
  const observer = observerFor("move_it_client", log, {
    client: () => client.stats(),
  });
  observer.configure(config.chains);
  const client = new MoveItClient({
    config,
    log,
    publishHost: args.host,
    ledgerFile,
    onEvent: observer.onClientEvent,
  });
  const closeStatus = await startAll(
    observer,
    args,
    client,
    () => client.stats(),
    log,
  );
  const reload = async (): Promise<void> => {
    const next = await readConfig(file, "client", log);
    await client.reload(next);
    observer.configure(next.chains);
  };
  await supervise(daemonOf(client, closeStatus, reload), file, log);
}

runMain(main);
