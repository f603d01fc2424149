/**
 * move_it_status [--url http://HOST:PORT] [--json] [--timeout S]
 *
 * What a running daemon's chains are doing, read from its status port
 * (`--status-port`): state, providers heard, last file and when, files and
 * bytes per minute, pending, retrying, failed, late and missing. Exit 0
 * when every chain is running or idle, 1 when one is lagging or failing,
 * 2 when the daemon cannot be read.
 */
import { hideBin } from "yargs/helpers";
import yargs from "yargs";
import type { ChainStatus, StatusDocument } from "../observe/status-doc.js";
import { formatStatus } from "../observe/status-table.js";
import { VERSION } from "./args.js";

export function statusArgs(argv: string[]) {
  return yargs(argv)
    .scriptName("move_it_status")
    .usage(
      "$0 [--url http://HOST:PORT] [--json]\n\nShow what each chain of a running move_it daemon is doing (its --status-port).",
    )
    .option("url", {
      type: "string",
      default: "http://127.0.0.1:9099",
      describe: "the daemon's status port (its --status-port)",
    })
    .option("json", {
      type: "boolean",
      default: false,
      describe: "print the status document as JSON",
    })
    .option("timeout", {
      type: "number",
      default: 5,
      describe: "seconds to wait for the daemon",
    })
    .strict()
    .help()
    .alias("h", "help")
    .version(VERSION);
}

async function main(): Promise<void> {
  const args = await statusArgs(hideBin(process.argv)).parseAsync();
  const url = new URL(
    "status",
    args.url.endsWith("/") ? args.url : `${args.url}/`,
  );
  let doc: StatusDocument;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(args.timeout * 1000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as StatusDocument;
  } catch (err) {
    process.stderr.write(
      `error: cannot read ${url.href}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exitCode = 2;
    return;
  }
  process.stdout.write(
    args.json ? `${JSON.stringify(doc, null, 2)}\n` : formatStatus(doc),
  );
  process.exitCode = doc.chains.some(
    (c: ChainStatus) => c.state === "lagging" || c.state === "failing",
  )
    ? 1
    : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(
    `error: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exitCode = 2;
});
