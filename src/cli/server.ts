/**
 * move_it_server CONFIG [-p PORT] [--disable-backlog] [-w] [-l FILE] [-v] [-c LOGCONFIG] [--check]
 */
import { hideBin } from "yargs/helpers";
import { MoveItServer } from "../server/server.js";
import { parseCommand } from "./args.js";
import { runCheck } from "./check.js";
import {
  STATE_DIR_OPTION,
  daemonOf,
  observerFor,
  programArgs,
  publishPortOption,
  readConfig,
  rootLogger,
  runMain,
  stateDirFor,
  startAll,
  supervise,
} from "./common.js";
import { applyPosttrollSettings } from "./posttroll-settings.js";
import { chooseStateDir } from "./state-dir.js";

export function serverArgs(argv: string[]) {
  return programArgs(
    argv,
    "move_it_server",
    "Watch directories, announce files, serve push requests.",
    "the publish and request sockets",
  )
    .option("port", publishPortOption("publish port"))
    .option("disable-backlog", {
      type: "boolean",
      default: false,
      describe: "do not announce files already there at start",
    })
    .option("watchdog", {
      alias: "w",
      type: "boolean",
      default: false,
      describe:
        "poll the file system (NFS) instead of OS events, every watchdog_timeout s",
    })
    .option("state-dir", STATE_DIR_OPTION)
    .strict();
}

async function main(): Promise<void> {
  const args = await parseCommand(
    serverArgs(hideBin(process.argv)),
    hideBin(process.argv),
    "move_it_server",
  );
  const file = args.config;
  if (args.check) {
    const stateDir = chooseStateDir(args["state-dir"], file, process.env);
    process.exitCode = await runCheck({
      program: "move_it_server",
      role: "server",
      file,
      host: args.host,
      port: args.port,
      statusPort: args["status-port"],
      stateDir,
      out: (l) => process.stdout.write(`${l}\n`),
    });
    return;
  }
  const log = await rootLogger("move_it_server", args);
  await applyPosttrollSettings(log);
  const config = await readConfig(file, "server", log, true);
  const observer = observerFor("move_it_server", log, {
    server: () => server.stats(),
    serverLedger: () => server.ledgerStats(),
  });
  const server = new MoveItServer({
    config,
    log,
    onEvent: observer.onServerEvent,
    publishBind: `tcp://${args.host}:${args.port}`,
    requestHost: args.host,
    disableBacklog: args["disable-backlog"],
    polling: args.watchdog,
    stateDir: await stateDirFor(args["state-dir"], file, log),
  });
  const closeStatus = await startAll(
    observer,
    args,
    server,
    () => ({ chains: server.stats(), ledger: server.ledgerStats() }),
    log,
  );
  await supervise(
    daemonOf(server, closeStatus, async () =>
      server.reload(await readConfig(file, "server", log)),
    ),
    file,
    log,
  );
}

runMain(main);
