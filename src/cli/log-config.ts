/**
 * Where the log goes, from the command line as Python trollmoves takes it:
 *
 * - `-l FILE`: a file rotated at local midnight, 7 rotated files kept
 *   (`--log-rotate`, `--log-keep` change that), as trollmoves' own `-l`;
 * - `-c FILE`: Python's logging configuration (the `logging.config.dictConfig`
 *   YAML every trollmoves operator has, or the same as JSON). Its handlers
 *   become our outputs: `StreamHandler` (stdout/stderr), `FileHandler`,
 *   `WatchedFileHandler`, `RotatingFileHandler` (size), `TimedRotatingFileHandler`
 *   (time); their levels and the levels of the loggers that use them apply.
 *   Records stay bunyan JSON lines: formatters are ignored, and that is said
 *   once at start, as is anything else not used;
 * - the older JSON form `{"level": "debug", "path": "/var/log/x.log"}`;
 * - else stderr. `-v` makes the `-l`/stderr output debug-level.
 *
 * Every problem is an Error of one line naming the file and what is wrong;
 * the commands print it and exit 2.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { checkLogPath, parseEvery, type Rotation } from "../log-file.js";
import type { LogOutput } from "../log.js";

export interface LogArgs {
  log?: string | undefined;
  verbose: boolean;
  "log-config"?: string | undefined;
  "log-rotate"?: string | undefined;
  "log-keep"?: number | undefined;
}

export interface LogPlan {
  outputs: LogOutput[];
  /** Things of the config not used (formatters, unknown handler classes…): logged once at start. */
  notes: string[];
}

type Lvl = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** Python's level names and numbers → bunyan's. */
function level(value: unknown, where: string): Lvl {
  if (typeof value === "number") {
    if (value <= 0) return "trace";
    if (value <= 10) return "debug";
    if (value <= 20) return "info";
    if (value <= 30) return "warn";
    if (value <= 40) return "error";
    return "fatal";
  }
  const names: Record<string, Lvl> = {
    NOTSET: "trace",
    TRACE: "trace",
    DEBUG: "debug",
    INFO: "info",
    WARN: "warn",
    WARNING: "warn",
    ERROR: "error",
    CRITICAL: "fatal",
    FATAL: "fatal",
  };
  const found =
    typeof value === "string" ? names[value.trim().toUpperCase()] : undefined;
  if (found === undefined)
    throw new Error(
      `${where}: level ${JSON.stringify(value)} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL`,
    );
  return found;
}

const RANK: Record<Lvl, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};
const stricter = (a: Lvl, b: Lvl): Lvl => (RANK[a] >= RANK[b] ? a : b);
const looser = (a: Lvl, b: Lvl): Lvl => (RANK[a] <= RANK[b] ? a : b);

/** A file output, its path checked now (one clear line if it cannot be written). */
function fileOutput(
  path: string,
  lvl: Lvl,
  rotation: Rotation,
  where: string,
  truncate = false,
): LogOutput {
  const abs = resolve(path);
  try {
    checkLogPath(abs);
  } catch (err) {
    throw new Error(`${where}: ${(err as Error).message}`);
  }
  return { level: lvl, file: abs, rotation, truncate };
}

/** The outputs for `args` (reads `-c`). */
export async function logPlan(args: LogArgs): Promise<LogPlan> {
  const keep = args["log-keep"] ?? 7;
  if (!Number.isInteger(keep) || keep < 0)
    throw new Error(
      `--log-keep ${String(args["log-keep"])}: give a whole number of rotated files to keep (0 keeps all)`,
    );
  const every = args["log-rotate"] ?? "midnight";
  const rotation: Rotation =
    every === "never" ? { kind: "never" } : { kind: "time", every, keep };
  if (rotation.kind === "time") {
    try {
      parseEvery(every);
    } catch (err) {
      throw new Error(`--log-rotate ${(err as Error).message}, or never`);
    }
  }
  const base: Lvl = args.verbose ? "debug" : "info";
  const fromArgs = (file: string | undefined, lvl: Lvl): LogOutput[] =>
    file === undefined
      ? [{ level: lvl, to: "stderr" }]
      : [fileOutput(file, lvl, rotation, "-l")];
  const confFile = args["log-config"];
  if (confFile === undefined)
    return { outputs: fromArgs(args.log, base), notes: [] };

  const where = `-c ${confFile}`;
  let text: string;
  try {
    text = await readFile(confFile, "utf8");
  } catch (err) {
    throw new Error(
      `${where}: cannot read the logging config (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text); // JSON is YAML too
  } catch (err) {
    throw new Error(
      `${where}: neither YAML nor JSON: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc))
    throw new Error(
      `${where}: a logging config must be a mapping (Python's dictConfig, or {"level": ..., "path": ...})`,
    );
  const conf = doc as Record<string, unknown>;
  if (!("handlers" in conf) && !("version" in conf) && !("root" in conf)) {
    // The older JSON form.
    const lvl =
      conf["level"] === undefined ? base : legacyLevel(conf["level"], where);
    const path = conf["path"];
    if (path !== undefined && typeof path !== "string")
      throw new Error(`${where}: "path" must be a file name`);
    return { outputs: fromArgs(path ?? args.log, lvl), notes: [] };
  }
  return dictConfig(conf, where, args.log !== undefined);
}

function legacyLevel(value: unknown, where: string): Lvl {
  const lower = typeof value === "string" ? value.toLowerCase() : "";
  if (lower in RANK) return lower as Lvl;
  return level(value, where);
}

const asMap = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};

/** Python's dictConfig → outputs. */
function dictConfig(
  conf: Record<string, unknown>,
  where: string,
  withL: boolean,
): LogPlan {
  const notes: string[] = [];
  if (conf["version"] !== undefined && conf["version"] !== 1)
    throw new Error(
      `${where}: version ${JSON.stringify(conf["version"])}: only version 1 of Python's logging config exists`,
    );
  if (conf["formatters"] !== undefined)
    notes.push(
      `formatters ignored (${Object.keys(asMap(conf["formatters"])).join(", ")}): records are bunyan JSON lines`,
    );
  if (conf["filters"] !== undefined)
    notes.push(
      `filters ignored (${Object.keys(asMap(conf["filters"])).join(", ")})`,
    );
  if (conf["incremental"] === true)
    notes.push("incremental: true ignored: the config is applied whole");
  if (withL)
    notes.push(
      "-l ignored: -c says where the log goes (as in Python trollmoves)",
    );
  const handlers = asMap(conf["handlers"]);
  // Which loggers use which handler, at which level: the root (root: or loggers: {"": …}) and named ones.
  const loggers: Array<{ name: string; level: Lvl; handlers: string[] }> = [];
  const addLogger = (name: string, spec: unknown, defaultLevel: Lvl): void => {
    const m = asMap(spec);
    const hs = m["handlers"] ?? [];
    if (!Array.isArray(hs) || hs.some((h) => typeof h !== "string"))
      throw new Error(
        `${where}: logger ${name}: handlers must be a list of handler names`,
      );
    for (const h of hs as string[])
      if (!(h in handlers))
        throw new Error(
          `${where}: logger ${name}: handler "${h}" is not defined under handlers`,
        );
    loggers.push({
      name,
      level:
        m["level"] === undefined
          ? defaultLevel
          : level(m["level"], `${where}: logger ${name}`),
      handlers: hs as string[],
    });
  };
  const named = asMap(conf["loggers"]);
  // Python's root logger starts at WARNING.
  if (conf["root"] !== undefined) addLogger("root", conf["root"], "warn");
  for (const [name, spec] of Object.entries(named))
    addLogger(name === "" ? "root" : name, spec, "trace");
  const namedOnly = Object.keys(named).filter((n) => n !== "");
  if (namedOnly.length > 0)
    notes.push(
      `loggers ${namedOnly.join(", ")}: their handlers get every record of this program (it has one logger)`,
    );

  const outputs: LogOutput[] = [];
  for (const [name, spec] of Object.entries(handlers)) {
    const h = asMap(spec);
    const users = loggers.filter((l) => l.handlers.includes(name));
    if (users.length === 0) {
      notes.push(`handler ${name} ignored: no logger uses it`);
      continue;
    }
    const hw = `${where}: handler ${name}`;
    const lvl = stricter(
      h["level"] === undefined ? "trace" : level(h["level"], hw),
      users.map((u) => u.level).reduce(looser),
    );
    const cls = typeof h["class"] === "string" ? h["class"] : "";
    const out = handlerOutput(cls, h, lvl, hw, notes, name);
    if (out !== undefined) outputs.push(out);
    if (h["formatter"] !== undefined && conf["formatters"] === undefined)
      notes.push(`handler ${name}: formatter ignored`);
  }
  if (outputs.length === 0) {
    notes.push("no handler writes anywhere: logging to stderr");
    outputs.push({ level: "info", to: "stderr" });
  }
  return { outputs, notes };
}

function num(
  h: Record<string, unknown>,
  key: string,
  fallback: number,
  where: string,
): number {
  const v = h[key];
  if (v === undefined) return fallback;
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(
      `${where}: ${key} ${JSON.stringify(v)} is not a whole number`,
    );
  return n;
}

function filename(h: Record<string, unknown>, where: string): string {
  const f = h["filename"];
  if (typeof f !== "string" || f === "")
    throw new Error(`${where}: filename is missing`);
  return f;
}

function handlerOutput(
  cls: string,
  h: Record<string, unknown>,
  lvl: Lvl,
  where: string,
  notes: string[],
  name: string,
): LogOutput | undefined {
  const short = cls.replace(/^logging\.(handlers\.)?/, "");
  switch (short) {
    case "StreamHandler": {
      const stream = h["stream"] ?? "ext://sys.stderr";
      if (stream === "ext://sys.stdout") return { level: lvl, to: "stdout" };
      if (stream === "ext://sys.stderr") return { level: lvl, to: "stderr" };
      throw new Error(
        `${where}: stream ${JSON.stringify(stream)}: give ext://sys.stdout or ext://sys.stderr`,
      );
    }
    case "FileHandler":
    case "WatchedFileHandler":
      if (short === "WatchedFileHandler")
        notes.push(
          `handler ${name}: reopened on SIGHUP or SIGUSR1 (not on its own when moved)`,
        );
      return fileOutput(
        filename(h, where),
        lvl,
        { kind: "never" },
        where,
        h["mode"] === "w",
      );
    case "RotatingFileHandler": {
      const maxBytes = num(h, "maxBytes", 0, where);
      const keep = num(h, "backupCount", 0, where);
      // As in Python: no maxBytes or no backupCount, no rotation.
      const rotation: Rotation =
        maxBytes > 0 && keep > 0
          ? { kind: "size", maxBytes, keep }
          : { kind: "never" };
      return fileOutput(
        filename(h, where),
        lvl,
        rotation,
        where,
        h["mode"] === "w",
      );
    }
    case "TimedRotatingFileHandler": {
      const when = String(h["when"] ?? "h")
        .trim()
        .toLowerCase();
      const interval = num(h, "interval", 1, where) || 1;
      const unit = { s: "s", m: "m", h: "h", d: "d", midnight: "d" }[when];
      let every: string;
      if (unit !== undefined) every = `${interval}${unit}`;
      else if (/^w[0-6]$/.test(when)) {
        every = "7d";
        notes.push(
          `handler ${name}: when ${String(h["when"])} rotates every 7 days at midnight from the first start, not on that weekday`,
        );
      } else
        throw new Error(
          `${where}: when ${JSON.stringify(h["when"])} is not one of S, M, H, D, midnight, W0-W6`,
        );
      if (when === "d")
        notes.push(
          `handler ${name}: when D rotates at midnight (Python: 24 h after start)`,
        );
      try {
        parseEvery(every);
      } catch (err) {
        throw new Error(
          `${where}: when ${String(h["when"])}, interval ${interval}: ${(err as Error).message}`,
        );
      }
      return fileOutput(
        filename(h, where),
        lvl,
        {
          kind: "time",
          every,
          keep: num(h, "backupCount", 0, where),
          utc: h["utc"] === true,
        },
        where,
      );
    }
    case "NullHandler":
      return undefined;
    default:
      notes.push(
        `handler ${name} ignored: class ${cls === "" ? "(none)" : cls} is not supported (StreamHandler, FileHandler, WatchedFileHandler, RotatingFileHandler, TimedRotatingFileHandler are)`,
      );
      return undefined;
  }
}
