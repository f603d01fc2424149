/**
 * What the three commands share: the common options, the root logger,
 * reading the config, signals (SIGTERM/SIGINT close, a second one exits,
 * SIGHUP reloads) and reloading when the config file changes on disk.
 */
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import yargs from "yargs";
import type { Argv } from "yargs";
import { loadConfig, type LoadedConfig, type Role } from "../config/index.js";
import { ConfigError } from "../errors.js";
import { UsageError, VERSION, portArg } from "./args.js";
import { createRootLogger, type Logger } from "../log.js";
import { logPlan, type LogArgs } from "./log-config.js";
import { checkStateDir, chooseStateDir } from "./state-dir.js";
import { Observer, type ObserverOptions } from "../observe/observer.js";
import { startStatusServer } from "./status.js";

export interface CommonArgs {
  config: string;
  check: boolean;
  log?: string;
  verbose: boolean;
  "log-config"?: string;
  "log-rotate"?: string;
  "log-keep"?: number;
  "status-port"?: number;
  "status-host": string;
}

/** Options every command takes. */
export function commonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .positional("config", {
      type: "string",
      describe: "the ini config file (one chain per section)",
      demandOption: true,
    })
    .option("log", {
      alias: "l",
      type: "string",
      describe:
        "write the log to this file instead of stderr, rotated at local midnight (SIGHUP or SIGUSR1 reopens it)",
    })
    .option("log-rotate", {
      type: "string",
      describe:
        "when -l rotates: midnight (default), 2d, 6h, 30m, 10s, or never",
    })
    .option("log-keep", {
      type: "number",
      describe: "rotated -l files kept (default 7; 0 keeps all)",
    })
    .option("verbose", {
      alias: "v",
      type: "boolean",
      default: false,
      describe: "debug-level logging",
    })
    .option("check", {
      type: "boolean",
      default: false,
      describe:
        "validate the config, print what would run and every problem, exit 0 (fine) or 2",
    })
    .option("status-port", {
      coerce: portArg("--status-port"),
      describe:
        "serve the status page (/), /status (JSON) and /metrics (Prometheus) on this port",
    })
    .option("status-host", {
      type: "string",
      default: "127.0.0.1",
      describe: "interface for the status port",
    })
    .option("log-config", {
      alias: "c",
      type: "string",
      describe:
        'Python logging config (dictConfig YAML or JSON: stream, file, rotating and timed-rotating handlers, levels), or JSON {"level": ..., "path": ...}',
    });
}

/** A command's parser: `NAME CONFIG [options]` with the common options and `--host`. */
export function programArgs(
  argv: string[],
  name: string,
  about: string,
  hostFor: string,
) {
  return commonOptions(
    yargs(argv)
      .scriptName(name)
      .usage(`$0 CONFIG [options]\n\n${about}`)
      .command("$0 <config>", false),
  )
    .option("host", {
      type: "string",
      default: "*",
      describe: `interface to bind ${hostFor} to`,
    })
    .help()
    .alias("h", "help")
    .version(VERSION)
    .wrap(null);
}

/** The `--port`/`-p` option of the server and the mirror. */
export function publishPortOption(describe: string) {
  return {
    alias: "p",
    default: 9010,
    coerce: portArg("--port"),
    describe,
  } as const;
}

/** `--state-dir`, for the commands that keep state (deletion schedule, ledger). */
export const STATE_DIR_OPTION = {
  type: "string",
  describe:
    "where state is kept (default: $STATE_DIRECTORY, else /var/lib/move_it/<config name> if /var/lib/move_it is writable, else .<config>.state beside the config)",
} as const;

/** Where a reader of a daemon's state (move_it_ledger) finds it: the same rule as the daemon's (cli/state-dir.ts). */
export function stateDirToRead(
  explicit: string | undefined,
  file: string,
): string {
  return chooseStateDir(explicit, file, process.env, undefined, "read").dir;
}

/** The state directory from `--state-dir` or the default, checked writable (an Error saying what to do if not). */
export async function stateDirFor(
  explicit: string | undefined,
  file: string,
  log: Logger,
): Promise<string> {
  const choice = chooseStateDir(explicit, file, process.env);
  await checkStateDir(choice);
  log.info({ stateDir: choice.dir, source: choice.source }, "state directory");
  return choice.dir;
}

/**
 * The root logger, from -l, -c, -v, --log-rotate and --log-keep (see
 * cli/log-config.ts). SIGHUP and SIGUSR1 reopen its files.
 */
export async function rootLogger(name: string, args: LogArgs): Promise<Logger> {
  const plan = await logPlan(args);
  const root = createRootLogger(name, plan.outputs);
  const reopen = (sig: string): void => {
    root.reopen();
    root.log.info({ sig, files: root.files }, "log files reopened");
  };
  if (root.files.length > 0) {
    process.on("SIGUSR1", () => reopen("SIGUSR1"));
    process.on("SIGHUP", () => reopen("SIGHUP"));
  }
  for (const note of plan.notes)
    root.log.info({ logConfig: args["log-config"] }, `log config: ${note}`);
  return root.log;
}

/**
 * Read and validate the config file for a role; ConfigError names file,
 * section, option, value (of every problem, one per line). With `log`, the
 * warnings are logged: unknown options always, metadata rewrites only when
 * `start` (once at start, not at every reload).
 */
export async function readConfig<R extends Role>(
  file: string,
  role: R,
  log?: Logger,
  start = false,
): Promise<ReturnType<typeof loadConfig<R>>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new ConfigError(
      `cannot read the config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { file: resolve(file) },
    );
  }
  const config = loadConfig(text, role as never, resolve(file)) as ReturnType<
    typeof loadConfig<R>
  >;
  if (log !== undefined) logWarnings(config, log, start);
  return config;
}

function logWarnings(
  config: LoadedConfig<unknown>,
  log: Logger,
  start: boolean,
): void {
  for (const w of config.warnings ?? []) {
    const fields = {
      file: w.file,
      section: w.section,
      options: w.options,
      detail: w.message,
    };
    if (w.kind === "unknown") log.warn(fields, "unknown config option ignored");
    else if (start) log.info(fields, "options taken as metadata rewrites");
  }
}

/** The daemon's observer (metrics, expected files, alerts, status document). */
export function observerFor(
  program: string,
  log: Logger,
  sources: Pick<ObserverOptions, "client" | "server" | "serverLedger">,
): Observer {
  return new Observer({ program, version: VERSION, log, ...sources });
}

/** Start the status server if `--status-port` was given; returns a closer that also stops the observer. */
export async function statusFor(
  observer: Observer,
  args: CommonArgs,
  stats: () => unknown,
  log: Logger,
): Promise<() => Promise<void>> {
  if (args["status-port"] === undefined)
    return () => Promise.resolve(observer.close());
  const s = await startStatusServer({
    host: args["status-host"],
    port: args["status-port"],
    observer,
    stats,
    log,
  });
  return async () => {
    observer.close();
    await s.close();
  };
}

export interface Daemon {
  reload(): Promise<void>;
  /** Orderly stop: drain within the parts' deadlines. */
  close(): Promise<void>;
  /** Abort everything in flight now and close. */
  destroy(err?: Error): Promise<void>;
}

/** A long-lived part as the commands run it (MoveItServer, MoveItClient, MoveItMirror). */
export interface Startable {
  start(): Promise<void>;
  destroy(err?: Error): Promise<void>;
}

/**
 * Start `part`, then the status server if asked for; a failure of either
 * undoes both and is thrown (runMain then exits non-zero with its message,
 * which names the section and port that could not be bound).
 */
export async function startAll(
  observer: Observer,
  args: CommonArgs,
  part: Startable,
  stats: () => unknown,
  log: Logger,
): Promise<() => Promise<void>> {
  await part.start();
  try {
    return await statusFor(observer, args, stats, log);
  } catch (err) {
    await part.destroy(err instanceof Error ? err : undefined);
    throw new Error(
      `cannot serve --status-port ${args["status-port"]}: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/**
 * A started part and the status server startAll() gave it, as one Daemon
 * for supervise(): an orderly or an aborting stop closes the status server
 * first, then the part.
 */
export function daemonOf(
  part: Startable & { close(): Promise<void> },
  closeStatus: () => Promise<void>,
  reload: () => Promise<void>,
): Daemon {
  return {
    reload,
    close: async () => {
      await closeStatus();
      await part.close();
    },
    destroy: async (err) => {
      await closeStatus();
      await part.destroy(err);
    },
  };
}

/** How long an orderly stop may take before everything still in flight is aborted, ms. */
export const STOP_DEADLINE_MS = 15_000;
/** How long destroy() may take before the process exits anyway, ms. */
const DESTROY_GRACE_MS = 3000;

/**
 * Wire signals and config-file watching to a running daemon. Resolves when
 * the daemon has closed; the caller sets the exit code.
 */
export function supervise(
  daemon: Daemon,
  configFile: string,
  log: Logger,
): Promise<void> {
  let reloading = Promise.resolve();
  let stopping = false;
  const reload = (why: string): void => {
    if (stopping) return;
    reloading = reloading.then(async () => {
      if (stopping) return;
      log.info({ why }, "reloading config");
      try {
        await daemon.reload();
      } catch (err) {
        log.error({ err }, "reload failed, keeping the running config");
      }
    });
  };
  const watcher = watchConfig(configFile, () => reload("config file changed"));
  let destroying = false;
  // Abort what is in flight (the deletion schedule is still saved), then exit 1; never wait longer than the grace.
  const hardStop = (why: string): void => {
    if (destroying) return;
    destroying = true;
    process.exitCode = 1;
    setTimeout(() => process.exit(1), DESTROY_GRACE_MS).unref();
    void daemon
      .destroy(new Error(why))
      .catch((err: unknown) => log.error({ err }, "destroy failed"))
      .finally(() => process.exit(1));
  };
  return new Promise((resolveDone) => {
    const stop = (sig: string): void => {
      if (stopping) {
        log.warn({ sig }, "second signal: aborting what is in flight");
        hardStop(`second signal ${sig}`);
        return;
      }
      stopping = true;
      log.info({ sig }, "stopping");
      watcher?.close();
      const deadline = setTimeout(() => {
        log.error(
          { deadlineMs: STOP_DEADLINE_MS },
          "stop deadline passed: aborting what is in flight",
        );
        hardStop("stop deadline passed");
      }, STOP_DEADLINE_MS);
      deadline.unref();
      void reloading
        .then(() => daemon.close())
        .then(
          () => resolveDone(),
          (err: unknown) => {
            log.error({ err }, "close failed");
            process.exitCode = 1;
            resolveDone();
          },
        )
        .finally(() => clearTimeout(deadline));
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGHUP", () => reload("SIGHUP"));
  });
}

/** Watch the config's directory (editors replace files by rename) and debounce. */
function watchConfig(
  file: string,
  onChange: () => void,
): { close(): void } | undefined {
  const name = basename(file);
  let timer: NodeJS.Timeout | undefined;
  let fsw: FSWatcher;
  try {
    fsw = watch(dirname(resolve(file)), (_event, changed) => {
      if (changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(onChange, 300);
    });
  } catch {
    return undefined;
  }
  return {
    close: () => {
      clearTimeout(timer);
      fsw.close();
    },
  };
}

/**
 * Run a command's main, turning a thrown error (a bad config, a port that
 * cannot be bound) into a clean message and exit code 2. What was started
 * has been undone by then; should anything still hold the process, it exits
 * anyway after a short grace.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(
        `${err.program}: ${err.message}\nTry '${err.program} --help' for the options.\n`,
      );
    } else {
      const lines = (err instanceof Error ? err.message : String(err)).split(
        "\n",
      );
      process.stderr.write(lines.map((l) => `error: ${l}\n`).join(""));
    }
    process.exitCode = 2;
    setTimeout(() => process.exit(2), DESTROY_GRACE_MS).unref();
  });
}
