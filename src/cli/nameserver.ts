/**
 * move_it_nameserver [--no-multicast] [-L] [-l FILE] [-v] [--host H] [--port 5557]
 *                    [--registration-port 21200] [--publish-port 16543] [--max-age 600]
 *
 * A posttroll nameserver: publishers register their address on the
 * registration port, subscribers look them up on the look-up port. The
 * ports' defaults follow posttroll's environment (POSTTROLL_NAMESERVER_PORT,
 * POSTTROLL_BROADCAST_PORT, POSTTROLL_ADDRESS_PUBLISH_PORT).
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import {
  DEFAULT_ADDRESS_PUBLISH_PORT,
  DEFAULT_NAMESERVER_PORT,
  DEFAULT_REGISTRATION_PORT,
  NameServer,
} from "../nameserver/nameserver.js";
import { rootLogger, runMain } from "./common.js";
import { applyPosttrollSettings } from "./posttroll-settings.js";

function envPort(names: readonly string[], fallback: number): number {
  for (const name of names) {
    const v = process.env[name];
    if (v === undefined || v === "") continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new Error(
        `environment variable ${name}: ${JSON.stringify(v)} is not a port number`,
      );
    return n;
  }
  return fallback;
}

export function nameserverArgs(argv: string[]) {
  return yargs(argv)
    .scriptName("move_it_nameserver")
    .usage(
      "$0 [options]\n\nA posttroll nameserver: publishers register with it, subscribers look addresses up in it.",
    )
    .option("log", {
      alias: "l",
      type: "string",
      describe: "write the log to this file instead of stderr",
    })
    .option("verbose", {
      alias: "v",
      type: "boolean",
      default: false,
      describe: "debug-level logging",
    })
    .option("log-config", {
      alias: "c",
      type: "string",
      describe:
        'Python logging config (dictConfig YAML or JSON), or JSON {"level": ..., "path": ...}: see docs/logging.md',
    })
    .option("multicast", {
      type: "boolean",
      default: true,
      describe:
        "--no-multicast as posttroll's; move_it never listens for multicast anyway",
    })
    .option("local-only", {
      alias: "L",
      type: "boolean",
      default: false,
      describe:
        "accepted for posttroll compatibility (it only filters multicast)",
    })
    .option("host", {
      type: "string",
      default: "*",
      describe: "interface to bind to",
    })
    .option("port", {
      type: "number",
      describe: "look-up port (default $POSTTROLL_NAMESERVER_PORT or 5557)",
    })
    .option("registration-port", {
      type: "number",
      describe:
        "registration port (default $POSTTROLL_BROADCAST_PORT or 21200)",
    })
    .option("publish-port", {
      type: "number",
      describe:
        "address news port (default $POSTTROLL_ADDRESS_PUBLISH_PORT or 16543)",
    })
    .option("max-age", {
      type: "number",
      default: 600,
      describe:
        "forget an address this many seconds after its last registration",
    })
    .strict()
    .help()
    .version(false);
}

async function main(): Promise<void> {
  const args = await nameserverArgs(hideBin(process.argv)).parseAsync();
  const log = await rootLogger("move_it_nameserver", {
    log: args.log,
    verbose: args.verbose,
    "log-config": args["log-config"],
  });
  await applyPosttrollSettings(log);
  if (args.multicast)
    log.warn(
      {},
      "multicast is not supported: publishers must name this host in their nameservers option",
    );
  const ns = new NameServer({
    log,
    host: args.host,
    port:
      args.port ??
      envPort(
        ["POSTTROLL_NAMESERVER_PORT", "NAMESERVER_PORT"],
        DEFAULT_NAMESERVER_PORT,
      ),
    registrationPort:
      args["registration-port"] ??
      envPort(["POSTTROLL_BROADCAST_PORT"], DEFAULT_REGISTRATION_PORT),
    publishPort:
      args["publish-port"] ??
      envPort(["POSTTROLL_ADDRESS_PUBLISH_PORT"], DEFAULT_ADDRESS_PUBLISH_PORT),
    maxAgeMs: args["max-age"] * 1000,
  });
  await ns.start();
  await new Promise<void>((resolveDone) => {
    let stopping = false;
    const stop = (sig: string): void => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ sig }, "stopping");
      void ns.close().then(resolveDone);
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

runMain(main);
