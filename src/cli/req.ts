/**
 * move_it_req ping [SERVER] | info TOPIC [SERVER] | catchup TOPIC [SERVER] --since 6h
 *             [--timeout 5] [--json] [-v]
 *
 * Ask a running server's request port (ours or Python trollmoves') what it
 * is doing, as Python's move_it_req does, for scripts and monitoring:
 * exit 0 answered, 1 no answer within --timeout or an error/unknown reply,
 * 2 bad command line. Python's spelling (`--ping`, `--info TOPIC`) works too.
 */
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { catchUp, isoSince } from "../client/catchup.js";
import { RequestTimeoutError, errorMessage } from "../errors.js";
import { nullLogger } from "../log.js";
import { Message, type JsonValue } from "../message/index.js";
import { ZmqRequester, toEndpoint } from "../transport/requester.js";
import { UsageError, VERSION } from "./args.js";
import { parseSince } from "./ledger-query.js";
import { applyPosttrollSettings } from "./posttroll-settings.js";

/** Python's move_it_req default. */
const DEFAULT_SERVER = "localhost:9092";

/** Python's `--ping` / `--info TOPIC` → our subcommands. */
export function fromPythonSpelling(argv: readonly string[]): string[] {
  const out = [...argv];
  const ping = out.indexOf("--ping");
  if (ping >= 0) {
    out.splice(ping, 1);
    return ["ping", ...out];
  }
  const info = out.findIndex((a) => a === "--info" || a.startsWith("--info="));
  if (info >= 0) {
    const arg = out[info]!;
    const topic = arg.includes("=")
      ? arg.slice(arg.indexOf("=") + 1)
      : out[info + 1];
    out.splice(info, arg.includes("=") ? 1 : 2);
    return ["info", topic ?? "", ...out];
  }
  return out;
}

export function reqArgs(argv: string[]) {
  const server = {
    type: "string",
    default: DEFAULT_SERVER,
    describe: "the server's request address, host:port or tcp://host:port",
  } as const;
  return yargs(argv)
    .scriptName("move_it_req")
    .usage(
      "$0 ping|info|catchup ... [options]\n\nAsk a move_it or trollmoves server's request port. Exit 0: answered; 1: no answer or an error reply; 2: bad command line.",
    )
    .command(
      "ping [server]",
      "is it alive? (pong, its station, whether it is move_it)",
      (y) => y.positional("server", server),
    )
    .command(
      "info <topic> [server]",
      "the files it announced on TOPIC (and below), newest first",
      (y) =>
        y
          .positional("topic", { type: "string", demandOption: true })
          .positional("server", server),
    )
    .command(
      "catchup <topic> [server]",
      "the announcements on TOPIC since --since (move_it servers only)",
      (y) =>
        y
          .positional("topic", { type: "string", demandOption: true })
          .positional("server", server)
          .option("since", {
            type: "string",
            demandOption: true,
            describe: "90s, 30m, 6h, 2d, 1w, or an ISO time (UTC if no offset)",
          })
          .option("limit", {
            type: "number",
            default: 200,
            describe: "announcements per page",
          }),
    )
    .demandCommand(
      1,
      "give a request: ping, info TOPIC or catchup TOPIC --since TIME",
    )
    .option("timeout", {
      type: "number",
      default: 5,
      describe: "seconds to wait for each answer",
    })
    .option("json", {
      type: "boolean",
      default: false,
      describe: "print the answer as one JSON object",
    })
    .option("verbose", {
      alias: "v",
      type: "boolean",
      default: false,
      describe: "info: list the files too",
    })
    .strict()
    .help()
    .alias("h", "help")
    .version(VERSION)
    .wrap(null)
    .fail((msg: string | null, err: Error | undefined) => {
      throw new UsageError(
        err?.message ?? msg ?? "bad command line",
        "move_it_req",
      );
    });
}

/** The answer as the scripts see it. */
interface Outcome {
  ok: boolean;
  text: string[];
  json: Record<string, unknown>;
}

const plain = (m: Message): Record<string, unknown> => ({
  subject: m.subject,
  type: m.type,
  sender: m.sender,
  time: m.time.isoformat(),
  data: toJson(m.data),
});

function toJson(v: JsonValue | undefined): unknown {
  return v === undefined
    ? null
    : (JSON.parse(
        JSON.stringify(v, (_k, x: unknown) =>
          x instanceof Map ? (Object.fromEntries(x) as unknown) : x,
        ),
      ) as unknown);
}

function refused(server: string, reply: Message, what: string): Outcome {
  const why =
    reply.type === "unknown"
      ? `does not know the ${what} request (a Python trollmoves server answers so to catchup)`
      : `answered ${reply.type}: ${typeof reply.data === "string" ? reply.data : JSON.stringify(toJson(reply.data))}`;
  return {
    ok: false,
    text: [`${server} ${why}`],
    json: { server, ok: false, reply: plain(reply) },
  };
}

async function ping(
  requester: ZmqRequester,
  server: string,
  timeoutMs: number,
): Promise<Outcome> {
  const started = performance.now();
  const reply = await requester.request(
    server,
    new Message("ping/pong", "ping"),
    { timeoutMs },
  );
  const ms = Math.round(performance.now() - started);
  if (reply.type !== "pong") return refused(server, reply, "ping");
  const d = reply.dataObject;
  const ours = d["move_it"] !== undefined && d["move_it"] !== null;
  const station = typeof d["station"] === "string" ? d["station"] : "?";
  return {
    ok: true,
    text: [
      `pong from ${server} in ${ms} ms: station ${station}, ${ours ? "move_it (catch-up supported)" : "not move_it (no catch-up)"}, sender ${reply.sender}`,
    ],
    json: { server, ok: true, ms, moveIt: ours, reply: plain(reply) },
  };
}

async function info(
  requester: ZmqRequester,
  server: string,
  topic: string,
  timeoutMs: number,
  verbose: boolean,
): Promise<Outcome> {
  const reply = await requester.request(server, new Message(topic, "info"), {
    timeoutMs,
  });
  if (reply.type !== "info") return refused(server, reply, "info");
  const d = reply.dataObject;
  const files = Array.isArray(d["files"]) ? d["files"].map(String) : [];
  const text = [
    `info from ${server} on ${topic}: ${files.length} file(s), max_count ${String(d["max_count"] ?? "?")}, uptime ${String(d["uptime"] ?? "?")}`,
  ];
  if (verbose) text.push(...files.map((f) => `  ${f}`));
  return {
    ok: true,
    text,
    json: {
      server,
      ok: true,
      topic,
      fileCount: files.length,
      reply: plain(reply),
    },
  };
}

async function catchup(
  requester: ZmqRequester,
  server: string,
  topic: string,
  sinceText: string,
  limit: number,
  timeoutMs: number,
): Promise<Outcome> {
  const sinceMs = parseSince(sinceText);
  if (sinceMs === undefined)
    throw new UsageError(
      `--since ${JSON.stringify(sinceText)}: give a duration such as 90s, 30m, 6h, 2d, 1w, or an ISO time such as 2026-12-01T10:00:00`,
      "move_it_req",
    );
  const since = new Date(sinceMs);
  const got: Message[] = [];
  const signal = new AbortController().signal;
  const r = await catchUp(
    server,
    topic,
    since,
    { requester, timeoutMs, limit, stamp: () => ({}), signal },
    (m) => got.push(m),
  );
  if (!r.supported) {
    return {
      ok: false,
      text: [
        `${server} does not answer catchup (not a move_it server: Python trollmoves answers unknown)`,
      ],
      json: { server, ok: false, supported: false },
    };
  }
  const text = got.map(
    (m) =>
      `${m.time.isoformat()}  ${m.subject}  ${m.type}  ${String(m.dataObject["uid"] ?? m.dataObject["uri"] ?? "")}`,
  );
  text.push(
    `${got.length} announcement(s) on ${topic} since ${isoSince(since)} from ${server} (${r.pages} page(s)${r.bad > 0 ? `, ${r.bad} undecodable` : ""})`,
  );
  return {
    ok: true,
    text,
    json: {
      server,
      ok: true,
      topic,
      since: isoSince(since),
      pages: r.pages,
      bad: r.bad,
      messages: got.map(plain),
    },
  };
}

async function main(): Promise<void> {
  const argv = fromPythonSpelling(hideBin(process.argv));
  const args = await reqArgs(argv).parseAsync();
  const [what] = args._;
  const server = toEndpoint(String(args["server"] ?? DEFAULT_SERVER));
  const timeout = args.timeout;
  if (!(timeout > 0) || !Number.isFinite(timeout))
    throw new UsageError(
      `--timeout ${String(timeout)}: give a number of seconds above 0`,
      "move_it_req",
    );
  const timeoutMs = Math.round(timeout * 1000);
  // posttroll settings decide whether request sockets use CURVE (move_it_secure_requests).
  await applyPosttrollSettings(nullLogger);
  // A connection that cannot be made is not an error to ZeroMQ: it waits, so the timeout decides.
  const requester = new ZmqRequester({ maxRetransmitMs: timeoutMs });
  let outcome: Outcome;
  try {
    if (what === "ping") outcome = await ping(requester, server, timeoutMs);
    else if (what === "info")
      outcome = await info(
        requester,
        server,
        String(args["topic"]),
        timeoutMs,
        args.verbose,
      );
    else
      outcome = await catchup(
        requester,
        server,
        String(args["topic"]),
        String(args["since"]),
        Number(args["limit"]),
        timeoutMs,
      );
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const timedOut = err instanceof RequestTimeoutError;
    const text = timedOut
      ? `no answer from ${server} within ${timeout} s`
      : `${server}: ${errorMessage(err)}`;
    outcome = {
      ok: false,
      text: [text],
      json: { server, ok: false, error: text },
    };
  } finally {
    requester.close();
  }
  if (args.json) process.stdout.write(`${JSON.stringify(outcome.json)}\n`);
  else
    (outcome.ok ? process.stdout : process.stderr).write(
      outcome.text.map((l) => `${l}\n`).join(""),
    );
  process.exitCode = outcome.ok ? 0 : 1;
}

main().catch((err: unknown) => {
  if (err instanceof UsageError)
    process.stderr.write(
      `move_it_req: ${err.message}\nTry 'move_it_req --help' for the options.\n`,
    );
  else process.stderr.write(`error: ${errorMessage(err)}\n`);
  process.exitCode = 2;
});
