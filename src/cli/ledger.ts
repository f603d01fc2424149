/**
 * move_it_ledger CONFIG [--name GLOB] [--since 6h|ISO] [--state STATE] [--json] [--state-dir DIR]
 *
 * "Has X arrived?": lists the files a daemon's ledger holds, with when, from
 * whom, where and in what state. Reads every ledger in the state directory
 * of CONFIG (server, client, the mirror's two), read-only: safe while the
 * daemon runs. Exit 0 when something matched, 1 when nothing did, 2 on error.
 */
import { existsSync } from "node:fs";
import { hideBin } from "yargs/helpers";
import yargs from "yargs";
import { CLIENT_SCHEMA } from "../client/ledger.js";
import { Ledger, ledgerPath, type LedgerSchema } from "../ledger/sqlite.js";
import { SERVER_LEDGER_SCHEMA } from "../server/ledger.js";
import { STATE_DIR_OPTION, runMain, stateDirToRead } from "./common.js";
import {
  CLIENT_STATES,
  SERVER_STATES,
  parseSince,
  queryClient,
  queryServer,
  type LedgerFilter,
  type LedgerRow,
} from "./ledger-query.js";

/** The ledger files a state directory may hold, and how to read each. */
const KINDS: ReadonlyArray<{
  name: string;
  schema: LedgerSchema;
  query: typeof queryServer;
}> = [
  { name: "server", schema: SERVER_LEDGER_SCHEMA, query: queryServer },
  { name: "client", schema: CLIENT_SCHEMA, query: queryClient },
  { name: "mirror-client", schema: CLIENT_SCHEMA, query: queryClient },
];

export function ledgerArgs(argv: string[]) {
  return yargs(argv)
    .scriptName("move_it_ledger")
    .usage(
      "$0 CONFIG [options]\n\nList the files a move_it daemon's ledger holds: when, from whom, where, in what state.\nSafe while the daemon runs. Exit 0: something matched; 1: nothing did; 2: error.",
    )
    .command("$0 <config>", false)
    .positional("config", {
      type: "string",
      describe:
        "the daemon's ini config file (its state directory is found from it)",
      demandOption: true,
    })
    .option("state-dir", {
      ...STATE_DIR_OPTION,
      describe: `the daemon's --state-dir (default, as the daemons choose it: ${STATE_DIR_OPTION.describe.replace(/^where state is kept \(default: /, "")}`,
    })
    .option("name", {
      type: "string",
      describe:
        "only files whose name matches this glob (* ? [...], case-sensitive)",
    })
    .option("since", {
      type: "string",
      describe:
        "only files announced since: 90s, 30m, 6h, 2d, 1w, or an ISO time (UTC if no offset)",
    })
    .option("state", {
      type: "string",
      describe: `only files in this state: client ${CLIENT_STATES.join("|")}; server ${SERVER_STATES.join("|")}`,
    })
    .option("limit", {
      type: "number",
      describe: "at most this many rows per ledger",
    })
    .option("json", {
      type: "boolean",
      default: false,
      describe: "one JSON array of rows instead of text lines",
    })
    .strict()
    .help()
    .version(false);
}

function line(r: LedgerRow): string {
  const parts = [r.announcedAt, r.ledger, r.chain, r.state.padEnd(9), r.name];
  if (r.who !== null)
    parts.push(r.ledger === "client" ? `from ${r.who}` : `by ${r.who}`);
  const pushedTo = r.details["pushedTo"];
  if (typeof pushedTo === "string") parts.push(`to ${pushedTo}`);
  if (r.where !== null)
    parts.push(r.ledger === "client" ? `to ${r.where}` : `file ${r.where}`);
  if (r.at !== null) parts.push(`(${r.state} ${r.at})`);
  const err = r.details["lastError"];
  if (typeof err === "string" && r.state !== "delivered")
    parts.push(`last error: ${err}`);
  return parts.join("  ");
}

async function main(): Promise<void> {
  const args = await ledgerArgs(hideBin(process.argv)).parseAsync();
  const stateDir = stateDirToRead(args["state-dir"], args.config);
  const filter: LedgerFilter = {
    name: args.name,
    state: args.state,
    limit: args.limit,
  };
  if (args.since !== undefined) {
    filter.since = parseSince(args.since);
    if (filter.since === undefined)
      throw new Error(
        `--since ${JSON.stringify(args.since)}: give a duration such as 90s, 30m, 6h, 2d, 1w, or an ISO time such as 2026-12-01T10:00:00`,
      );
  }
  if (
    args.state !== undefined &&
    ![...SERVER_STATES, ...CLIENT_STATES].includes(args.state as never)
  ) {
    throw new Error(
      `--state ${JSON.stringify(args.state)}: one of ${[...CLIENT_STATES, ...SERVER_STATES].join(", ")}`,
    );
  }
  const found = KINDS.map((k) => ({
    ...k,
    path: ledgerPath(stateDir, k.name),
  })).filter((k) => existsSync(k.path));
  if (found.length === 0)
    throw new Error(
      `no ledger in ${stateDir} (looked for ${KINDS.map((k) => `${k.name}.ledger.sqlite`).join(", ")}): has the daemon run with this config, or give its --state-dir`,
    );
  const rows: LedgerRow[] = [];
  for (const k of found) {
    const ledger = Ledger.open(k.path, k.schema, { readonly: true });
    try {
      rows.push(...k.query(ledger.db, filter));
    } finally {
      ledger.close();
    }
  }
  rows.sort((a, b) => a.announcedAt.localeCompare(b.announcedAt));
  process.stdout.write(
    args.json
      ? `${JSON.stringify(rows, null, 1)}\n`
      : rows.map((r) => `${line(r)}\n`).join(""),
  );
  process.exitCode = rows.length > 0 ? 0 : 1;
}

runMain(main);
