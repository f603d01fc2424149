/**
 * What the three commands share: the common options, the root logger,
 * reading the config, signals (SIGTERM/SIGINT close, a second one exits,
 * SIGHUP reloads) and reloading when the config file changes on disk.
 */
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import yargs from "yargs";
import type { Argv } from "yargs";
import type bunyan from "bunyan";
import { loadConfig, type Role } from "../config/index.js";
import { createLogger, type Logger } from "../log.js";
import { startStatusServer } from "./status.js";

export interface CommonArgs {
  config: string;
  log?: string;
  verbose: boolean;
  "log-config"?: string;
  "status-port"?: number;
  "status-host": string;
}

/** Options every command takes. */
export function commonOptions<T>(y: Argv<T>): Argv<T & CommonArgs> {
  return y
    .positional("config", { type: "string", describe: "the ini config file (one chain per section)", demandOption: true })
    .option("log", { alias: "l", type: "string", describe: "write the log to this file instead of stderr" })
    .option("verbose", { alias: "v", type: "boolean", default: false, describe: "debug-level logging" })
    .option("status-port", { type: "number", describe: "serve GET /status (JSON) and /metrics (Prometheus) on this port" })
    .option("status-host", { type: "string", default: "127.0.0.1", describe: "interface for the status port" })
    .option("log-config", { alias: "c", type: "string", describe: "logging config (JSON: {\"level\": ..., \"path\": ...}); Python YAML logging configs are accepted and ignored" }) as unknown as Argv<T & CommonArgs>;
}

/** A command's parser: `NAME CONFIG [options]` with the common options and `--host`. */
export function programArgs(argv: string[], name: string, about: string, hostFor: string) {
  return commonOptions(yargs(argv).scriptName(name).usage(`$0 CONFIG [options]\n\n${about}`).command("$0 <config>", false)).option("host", {
    type: "string",
    default: "*",
    describe: `interface to bind ${hostFor} to`,
  });
}

/** `--state-dir`, for the commands that delete files on a schedule. */
export const STATE_DIR_OPTION = { type: "string", describe: "where the deletion schedule is kept (default: .<config>.state beside the config)" } as const;

/** The default state directory: `.<config file name>.state` beside the config. */
export function defaultStateDir(file: string): string {
  return join(dirname(resolve(file)), `.${basename(file)}.state`);
}

/** The root logger, from -l, -v and -c. */
export async function rootLogger(name: string, args: CommonArgs): Promise<Logger> {
  let level: bunyan.LogLevel = args.verbose ? "debug" : "info";
  let file = args.log;
  let ignored: string | undefined;
  if (args["log-config"] !== undefined) {
    const text = await readFile(args["log-config"], "utf8");
    try {
      const conf = JSON.parse(text) as { level?: bunyan.LogLevel; path?: string };
      level = conf.level ?? level;
      file = conf.path ?? file;
    } catch {
      ignored = args["log-config"];
    }
  }
  const log = createLogger({ name, level, file });
  if (ignored !== undefined) log.warn({ file: ignored }, "log config is not JSON: ignored");
  return log;
}

/** Read and validate the config file for a role; ConfigError names file, section, option, value. */
export async function readConfig<R extends Role>(file: string, role: R): Promise<ReturnType<typeof loadConfig<R>>> {
  const text = await readFile(file, "utf8");
  return loadConfig(text, role as never, resolve(file)) as ReturnType<typeof loadConfig<R>>;
}

/** Start the status server if `--status-port` was given; returns its closer. */
export async function statusFor(program: string, args: CommonArgs, stats: () => unknown, log: Logger): Promise<() => Promise<void>> {
  if (args["status-port"] === undefined) return () => Promise.resolve();
  const s = await startStatusServer({ program, host: args["status-host"], port: args["status-port"], stats, log });
  return () => s.close();
}

export interface Daemon {
  reload(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Wire signals and config-file watching to a running daemon. Resolves when
 * the daemon has closed; the caller sets the exit code.
 */
export function supervise(daemon: Daemon, configFile: string, log: Logger): Promise<void> {
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
  return new Promise((resolveDone) => {
    const stop = (sig: string): void => {
      if (stopping) {
        log.warn({ sig }, "second signal, exiting now");
        process.exit(1);
      }
      stopping = true;
      log.info({ sig }, "stopping");
      watcher?.close();
      void reloading.then(() => daemon.close()).then(resolveDone, (err: unknown) => {
        log.error({ err }, "close failed");
        resolveDone();
      });
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGHUP", () => reload("SIGHUP"));
  });
}

/** Watch the config's directory (editors replace files by rename) and debounce. */
function watchConfig(file: string, onChange: () => void): { close(): void } | undefined {
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

/** Run a command's main, turning a thrown error into a clean message and exit code 2. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  });
}
