/**
 * move_it_client CONFIG [-l FILE] [-v] [-c LOGCONFIG]
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { commonOptions, runMain } from "./common.js";

export function clientArgs(argv: string[]) {
  return commonOptions(
    yargs(argv)
      .scriptName("move_it_client")
      .usage("$0 CONFIG [options]\n\nSubscribe to servers, fetch each announced file once, republish it.")
      .command("$0 <config>", false),
  )
    .option("host", { type: "string", default: "*", describe: "interface to bind the publish sockets to" })
    .strict()
    .help()
    .version(false);
}

async function main(): Promise<void> {
  await clientArgs(hideBin(process.argv)).parseAsync();
  throw new Error("move_it_client: not implemented yet");
}

runMain(main);
