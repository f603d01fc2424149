/**
 * move_it_mirror CONFIG [-p PORT] [-l FILE] [-v] [-c LOGCONFIG]
 */
import { hideBin } from "yargs/helpers";
import { MoveItMirror } from "../mirror/index.js";
import { STATE_DIR_OPTION, defaultStateDir, programArgs, readConfig, rootLogger, runMain, startAll, supervise } from "./common.js";
import { applyPosttrollSettings } from "./posttroll-settings.js";

export function mirrorArgs(argv: string[]) {
  return programArgs(argv, "move_it_mirror", "Relay announcements and files between networks: a client and a server back to back.", "the publish and request sockets")
    .option("port", { alias: "p", type: "number", default: 9010, describe: "publish port (downstream)" })
    .option("state-dir", STATE_DIR_OPTION)
    .strict()
    .help()
    .version(false);
}

async function main(): Promise<void> {
  const args = await mirrorArgs(hideBin(process.argv)).parseAsync();
  const log = await rootLogger("move_it_mirror", args);
  await applyPosttrollSettings(log);
  const file = args.config;
  const mirror = new MoveItMirror({
    config: await readConfig(file, "mirror"),
    log,
    publishBind: `tcp://${args.host}:${args.port}`,
    bindHost: args.host,
    stateDir: args["state-dir"] ?? defaultStateDir(file),
  });
  const closeStatus = await startAll("move_it_mirror", args, mirror, () => { const s = mirror.stats(); return { server: { chains: s.server }, client: s.client }; }, log);
  await supervise({ reload: async () => mirror.reload(await readConfig(file, "mirror")), close: async () => { await closeStatus(); await mirror.close(); }, destroy: async (err) => { await closeStatus(); await mirror.destroy(err); } }, file, log);
}

runMain(main);
