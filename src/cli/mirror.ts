/**
 * move_it_mirror CONFIG [-p PORT] [-l FILE] [-v] [-c LOGCONFIG]
 */
import { dirname, join, resolve } from "node:path";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { MoveItMirror } from "../mirror/index.js";
import { commonOptions, readConfig, rootLogger, runMain, statusFor, supervise } from "./common.js";

export function mirrorArgs(argv: string[]) {
  return commonOptions(
    yargs(argv)
      .scriptName("move_it_mirror")
      .usage("$0 CONFIG [options]\n\nRelay announcements and files between networks: a client and a server back to back.")
      .command("$0 <config>", false),
  )
    .option("port", { alias: "p", type: "number", default: 9010, describe: "publish port (downstream)" })
    .option("host", { type: "string", default: "*", describe: "interface to bind the publish and request sockets to" })
    .option("state-dir", { type: "string", describe: "where the deletion schedule is kept (default: .<config>.state beside the config)" })
    .strict()
    .help()
    .version(false);
}

async function main(): Promise<void> {
  const args = await mirrorArgs(hideBin(process.argv)).parseAsync();
  const log = await rootLogger("move_it_mirror", args);
  const file = args.config;
  const mirror = new MoveItMirror({
    config: await readConfig(file, "mirror"),
    log,
    publishBind: `tcp://${args.host}:${args.port}`,
    bindHost: args.host,
    stateDir: args["state-dir"] ?? join(dirname(resolve(file)), `.${file.split("/").pop() ?? "mirror"}.state`),
  });
  await mirror.start();
  const closeStatus = await statusFor("move_it_mirror", args, () => { const s = mirror.stats(); return { server: { chains: s.server }, client: s.client }; }, log);
  await supervise({ reload: async () => mirror.reload(await readConfig(file, "mirror")), close: async () => { await closeStatus(); await mirror.close(); } }, file, log);
}

runMain(main);
