/**
 * move_it_server CONFIG [-p PORT] [--disable-backlog] [-w] [-l FILE] [-v] [-c LOGCONFIG]
 */
import { dirname, join, resolve } from "node:path";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { MoveItServer } from "../server/server.js";
import { commonOptions, readConfig, rootLogger, runMain, statusFor, supervise } from "./common.js";

export function serverArgs(argv: string[]) {
  return commonOptions(
    yargs(argv)
      .scriptName("move_it_server")
      .usage("$0 CONFIG [options]\n\nWatch directories, announce files, serve push requests.")
      .command("$0 <config>", false),
  )
    .option("port", { alias: "p", type: "number", default: 9010, describe: "publish port" })
    .option("disable-backlog", { type: "boolean", default: false, describe: "do not announce files already there at start" })
    .option("watchdog", { alias: "w", type: "boolean", default: false, describe: "poll the file system (NFS) instead of OS events, every watchdog_timeout s" })
    .option("host", { type: "string", default: "*", describe: "interface to bind the publish and request sockets to" })
    .option("state-dir", { type: "string", describe: "where the deletion schedule is kept (default: .<config>.state beside the config)" })
    .strict()
    .help()
    .version(false);
}

async function main(): Promise<void> {
  const args = await serverArgs(hideBin(process.argv)).parseAsync();
  const log = await rootLogger("move_it_server", args);
  const file = args.config;
  const config = await readConfig(file, "server");
  const server = new MoveItServer({
    config,
    log,
    publishBind: `tcp://${args.host}:${args.port}`,
    requestHost: args.host,
    disableBacklog: args["disable-backlog"],
    polling: args.watchdog,
    stateDir: args["state-dir"] ?? join(dirname(resolve(file)), `.${file.split("/").pop() ?? "server"}.state`),
  });
  await server.start();
  const closeStatus = await statusFor("move_it_server", args, () => ({ chains: server.stats() }), log);
  await supervise({ reload: async () => server.reload(await readConfig(file, "server")), close: async () => { await closeStatus(); await server.close(); } }, file, log);
}

runMain(main);
