/**
 * move_it_client CONFIG [-l FILE] [-v] [-c LOGCONFIG]
 */
import { hideBin } from "yargs/helpers";
import { MoveItClient } from "../client/index.js";
import { programArgs, readConfig, rootLogger, runMain, statusFor, supervise } from "./common.js";

export function clientArgs(argv: string[]) {
  return programArgs(argv, "move_it_client", "Subscribe to servers, fetch each announced file once, republish it.", "the publish sockets").strict().help().version(false);
}

async function main(): Promise<void> {
  const args = await clientArgs(hideBin(process.argv)).parseAsync();
  const log = await rootLogger("move_it_client", args);
  const file = args.config;
  const client = new MoveItClient({ config: await readConfig(file, "client"), log, publishHost: args.host });
  await client.start();
  const closeStatus = await statusFor("move_it_client", args, () => client.stats(), log);
  await supervise({ reload: async () => client.reload(await readConfig(file, "client")), close: async () => { await closeStatus(); await client.close(); } }, file, log);
}

runMain(main);
