/**
 * move_it_server CONFIG [-p PORT] [--disable-backlog] [-w] [-l FILE] [-v] [-c LOGCONFIG]
 */
import { hideBin } from "yargs/helpers";
import { MoveItServer } from "../server/server.js";
import { STATE_DIR_OPTION, defaultStateDir, programArgs, readConfig, rootLogger, runMain, startAll, supervise } from "./common.js";
import { applyPosttrollSettings } from "./posttroll-settings.js";

export function serverArgs(argv: string[]) {
  return programArgs(argv, "move_it_server", "Watch directories, announce files, serve push requests.", "the publish and request sockets")
    .option("port", { alias: "p", type: "number", default: 9010, describe: "publish port" })
    .option("disable-backlog", { type: "boolean", default: false, describe: "do not announce files already there at start" })
    .option("watchdog", { alias: "w", type: "boolean", default: false, describe: "poll the file system (NFS) instead of OS events, every watchdog_timeout s" })
    .option("state-dir", STATE_DIR_OPTION)
    .strict()
    .help()
    .version(false);
}

async function main(): Promise<void> {
  const args = await serverArgs(hideBin(process.argv)).parseAsync();
  const log = await rootLogger("move_it_server", args);
  await applyPosttrollSettings(log);
  const file = args.config;
  const config = await readConfig(file, "server");
  const server = new MoveItServer({
    config,
    log,
    publishBind: `tcp://${args.host}:${args.port}`,
    requestHost: args.host,
    disableBacklog: args["disable-backlog"],
    polling: args.watchdog,
    stateDir: args["state-dir"] ?? defaultStateDir(file),
  });
  const closeStatus = await startAll("move_it_server", args, server, () => ({ chains: server.stats(), ledger: server.ledgerStats() }), log);
  await supervise({ reload: async () => server.reload(await readConfig(file, "server")), close: async () => { await closeStatus(); await server.close(); }, destroy: async (err) => { await closeStatus(); await server.destroy(err); } }, file, log);
}

runMain(main);
