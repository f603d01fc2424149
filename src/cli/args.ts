/**
 * Command-line handling shared by every command: usage errors that say what
 * is wrong and exit 2 (an unknown option with the closest known one, a port
 * that is not a number), `-h`/`--help` and `--version`.
 */
import { readFileSync } from "node:fs";
import type { Argv } from "yargs";
import { closest } from "../config/problems.js";

/** The command line is wrong: printed as one line plus a pointer to --help, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly program: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** The package version, from package.json. */
export const VERSION: string = (
  JSON.parse(
    readFileSync(new URL("../../../package.json", import.meta.url), "utf8"),
  ) as { version: string }
).version;

/** A `--port`-like value: an integer 0..65535 (yargs would give NaN and then "Invalid argument"). */
export function portArg(flag: string): (value: unknown) => number {
  return (value) => {
    const text = String(Array.isArray(value) ? value.at(-1) : value);
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n) || n > 65535)
      throw new Error(
        `${flag} ${JSON.stringify(text)}: not a port number (0..65535)`,
      );
    return n;
  };
}

/**
 * Parse `argv` with `parser` (built for strict parsing). Unknown options are
 * found before yargs sees them, because yargs would take the config file as
 * the unknown option's value and then complain that CONFIG is missing.
 */
export async function parseCommand<T>(
  parser: Argv<T>,
  argv: string[],
  program: string,
): Promise<T> {
  refuseUnknownOptions(parser, argv, program);
  const parsed = await parser
    .fail((msg: string | null, err: Error | undefined) => {
      throw new UsageError(err?.message ?? msg ?? "bad command line", program);
    })
    .parseAsync();
  return parsed as T;
}

function refuseUnknownOptions<T>(
  parser: Argv<T>,
  argv: string[],
  program: string,
): void {
  const { key, alias, boolean } = (
    parser as unknown as { getOptions(): unknown }
  ).getOptions() as {
    key: Record<string, unknown>;
    alias: Record<string, string[]>;
    boolean: string[];
  };
  const names = new Set<string>([
    ...Object.keys(key),
    ...Object.keys(alias),
    ...Object.values(alias).flat(),
  ]);
  for (const b of boolean) names.add(`no-${b}`);
  for (const n of [...names])
    names.add(n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()));
  const long = [...names].filter((n) => n.length > 1);
  const isBoolean = (name: string): boolean =>
    boolean.includes(name) ||
    boolean.some((b) => alias[b]?.includes(name)) ||
    (alias[name] ?? []).some((a) => boolean.includes(a));
  const unknown = (flag: string): UsageError => {
    const near = closest(flag, long);
    const shown = flag.length > 1 ? `--${flag}` : `-${flag}`;
    return new UsageError(
      `unknown option ${shown}${near === undefined ? "" : ` (did you mean --${near}?)`}`,
      program,
    );
  };
  for (const arg of argv) {
    if (arg === "--") return;
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) continue;
    if (arg.startsWith("--")) {
      const flag = arg.slice(2).split("=")[0]!;
      if (!names.has(flag)) throw unknown(flag);
      continue;
    }
    // `-vw` is two flags; in `-p9010` what follows an option taking a value is that value.
    for (const ch of arg.slice(1).split("=")[0]!) {
      if (!names.has(ch)) throw unknown(ch);
      if (!isBoolean(ch)) break;
    }
  }
}
