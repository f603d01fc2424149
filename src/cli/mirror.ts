/**
 * move_it_mirror CONFIG [-p PORT] [-l FILE] [-v] [-c LOGCONFIG]
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { commonOptions, runMain } from "./common.js";

export function mirrorArgs(argv: string[]) {
  return commonOptions(
    yargs(argv)
      .scriptName("move_it_mirror")
      .usage("$0 CONFIG [options]\n\nRelay announcements and files between networks: a client and a server back to back.")
      .command("$0 <config>", false),
  )
    .option("port", { alias: "p", type: "number", default: 9010, describe: "publish port" })
    .option("host", { type: "string", default: "*", describe: "interface to bind the publish and request sockets to" })
    .strict()
    .help()
    .version(false);
}

async function main(): Promise<void> {
  await mirrorArgs(hideBin(process.argv)).parseAsync();
  throw new Error("move_it_mirror: not implemented yet");
}

runMain(main);
