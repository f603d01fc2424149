/**
 * move_it_mirror CONFIG [-p PORT] [-l FILE] [-v] [-c LOGCONFIG] [--check]
 */
import { hideBin } from "yargs/helpers";
import { MoveItMirror } from "../mirror/index.js";
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

export function mirrorArgs(argv: string[]) {
  return programArgs(
    argv,
    "move_it_mirror",
    "Relay announcements and files between networks: a client and a server back to back.",
    "the publish and request sockets",
  )
    .option("port", publishPortOption("publish port (downstream)"))
    .option("state-dir", STATE_DIR_OPTION)
    .strict();
}

async function main(): Promise<void> {
  const args = await parseCommand(
    mirrorArgs(hideBin(process.argv)),
    hideBin(process.argv),
    "move_it_mirror",
  );
  const file = args.config;
  if (args.check) {
    const stateDir = chooseStateDir(args["state-dir"], file, process.env);
    process.exitCode = await runCheck({
      program: "move_it_mirror",
      role: "mirror",
      file,
      host: args.host,
      port: args.port,
      statusPort: args["status-port"],
      stateDir,
      out: (l) => process.stdout.write(`${l}\n`),
    });
    return;
  }
  const log = await rootLogger("move_it_mirror", args);
  await applyPosttrollSettings(log);
  const config = await readConfig(file, "mirror", log, true);
  const observer = observerFor("move_it_mirror", log, {
    client: () => mirror.stats().client,
    server: () => mirror.stats().server,
    serverLedger: () => mirror.ledgerStats(),
  });
  observer.configure(config.chains.map((c) => c.client));
  const mirror = new MoveItMirror({
    config,
    log,
    onServerEvent: observer.onServerEvent,
    onClientEvent: observer.onClientEvent,
    publishBind: `tcp://${args.host}:${args.port}`,
    bindHost: args.host,
    stateDir: await stateDirFor(args["state-dir"], file, log),
  });
  const closeStatus = await startAll(
    observer,
    args,
    mirror,
    () => {
      const s = mirror.stats();
      return { server: { chains: s.server }, client: s.client };
    },
    log,
  );
  const reload = async (): Promise<void> => {
    const next = await readConfig(file, "mirror", log);
    await mirror.reload(next);
    observer.configure(next.chains.map((c) => c.client));
  };
  await supervise(daemonOf(mirror, closeStatus, reload), file, log);
}

runMain(main);
