/**
 * Readers for option values. Each takes the raw string and where it came
 * from, and returns a typed value or throws one `ConfigError` naming the
 * file, section, option and value.
 */

import { ConfigError, PatternError } from "../errors.js";
import { checkPattern } from "../pattern/index.js";
import type { RawSection } from "./ini.js";

/** Where a value came from, for error messages. */
export interface Where {
  readonly file: string;
  readonly section: string;
  readonly option: string;
}

/** One `info` value: a comma in the value makes it a list. */
export type InfoValue = string | string[];

/** A `host:port` pair as written in a config file. */
export interface HostPort {
  /** Host name or address, IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  /** `host:port`, IPv6 in brackets: ready for `tcp://` + address. */
  readonly address: string;
}

/** Throw the one error for a bad value. */
export function fail(where: Where, value: string, message: string): never {
  throw new ConfigError(message + inlineCommentHint(value), {
    ...where,
    value,
  });
}

// Python's configparser has no inline comments either, but operators keep
// trying them: say so when a value looks like one.
function inlineCommentHint(value: string): string {
  return /\s[#;]/.test(value)
    ? ' (a "#" or ";" after a value is part of it: put comments on their own line)'
    : "";
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** An integer within `[min, max]`. */
export function readInt(
  value: string,
  where: Where,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = INTEGER.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n)) fail(where, value, "not an integer");
  if (n < min || n > max) {
    fail(
      where,
      value,
      max === Number.MAX_SAFE_INTEGER
        ? `must be at least ${min}`
        : `not between ${min} and ${max}`,
    );
  }
  return n;
}

/** A finite decimal number ≥ 0 (`2`, `0.5`, `1e3`). */
export function readNonNegative(
  value: string,
  where: Where,
  what = "not a non-negative number",
): number {
  const n = DECIMAL.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0) fail(where, value, what);
  return n;
}

/** A duration in seconds: a finite decimal number ≥ 0. */
export function readSeconds(value: string, where: Where): number {
  return readNonNegative(value, where, "not a number of seconds");
}

/** A duration in seconds that must be more than 0. */
export function readPositiveSeconds(value: string, where: Where): number {
  const n = readSeconds(value, where);
  if (n === 0) fail(where, value, "must be more than 0 seconds");
  return n;
}

const TRUE_WORDS = new Set(["1", "yes", "true", "on"]);
const FALSE_WORDS = new Set(["0", "no", "false", "off"]);

/** Python's `getboolean` words, any case; undefined for anything else. */
export function pythonBool(value: string): boolean | undefined {
  const word = value.toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/** A boolean as Python's `getboolean` reads it: true/false/yes/no/on/off/1/0, any case. */
export function readBool(value: string, where: Where): boolean {
  const b = pythonBool(value);
  if (b === undefined)
    fail(where, value, "not a boolean (use true/false, yes/no, on/off or 1/0)");
  return b;
}

/** Split on whitespace (and commas when `commas`), dropping empty items. */
export function readList(value: string, commas = false): string[] {
  return value.split(commas ? /[\s,]+/ : /\s+/).filter((item) => item !== "");
}

/** A TCP port: 1..65535, or 0 too when `allowZero` (any free port). */
export function readPort(
  value: string,
  where: Where,
  allowZero = false,
): number {
  const port = INTEGER.test(value) ? Number(value) : NaN;
  const min = allowZero ? 0 : 1;
  if (!Number.isInteger(port) || port < min || port > 65535) {
    fail(where, value, `not a port number (${min}..65535)`);
  }
  return port;
}

const BRACKETED = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/;
const PLAIN = /^([^\s:/[\]]+):(\d+)$/;

/** `host:port` or `[ipv6]:port`. */
export function readHostPort(value: string, where: Where): HostPort {
  const bracketed = BRACKETED.exec(value);
  const match = bracketed ?? PLAIN.exec(value);
  if (match === null)
    fail(
      where,
      value,
      "not host:port (an IPv6 address goes in brackets: [::1]:9010)",
    );
  const host = match[1] ?? "";
  const port = readPort(match[2] ?? "", where);
  return {
    host,
    port,
    address: bracketed === null ? `${host}:${port}` : `[${host}]:${port}`,
  };
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/**
 * A destination: an absolute path or a `scheme://...` URL, either possibly
 * holding `{field}` patterns. Returns the value unchanged.
 */
export function readUrl(value: string, where: Where): string {
  if (/\s/.test(value.replace(/\{[^}]*\}/g, "")))
    fail(where, value, "a URL cannot contain spaces");
  if (value.startsWith("/")) return readPattern(value, where, "compose");
  readPattern(value, where, "compose");
  if (!SCHEME.test(value))
    fail(where, value, "not an absolute path nor a URL (scheme://host/path)");
  if (!URL.canParse(value.replace(/\{[^}]*\}/g, "x")))
    fail(where, value, "not a valid URL");
  const scheme = (SCHEME.exec(value)?.[1] ?? "").toLowerCase();
  if (!DESTINATION_SCHEMES.includes(scheme))
    fail(
      where,
      value,
      `unknown scheme "${scheme}://" (known: ${DESTINATION_SCHEMES.join(", ")})`,
    );
  return value;
}

/** The destination schemes trollmoves has movers for (ours and the Python ones alike). */
export const DESTINATION_SCHEMES: readonly string[] = [
  "file",
  "ftp",
  "scp",
  "sftp",
  "s3",
];

/** A trollsift pattern that must work for `use` (see `checkPattern`): the pattern's own message, named. */
export function readPattern(
  value: string,
  where: Where,
  use: "parse" | "compose",
): string {
  try {
    checkPattern(value, use);
  } catch (err) {
    if (err instanceof PatternError)
      fail(where, value, `not a valid pattern: ${err.message}`);
    throw err;
  }
  return value;
}

/** A watched origin: an absolute path whose pattern parses file names. */
export function readOrigin(value: string, where: Where): string {
  if (/^s3:\/\//i.test(value)) {
    // A bucket to poll: s3://bucket/prefix/{pattern}.
    if (!/^s3:\/\/[^/{}]+\/./i.test(value))
      fail(
        where,
        value,
        "an s3:// origin needs a bucket and a pattern (s3://bucket/prefix/{name})",
      );
    return readPattern(value, where, "parse");
  }
  if (!value.startsWith("/"))
    fail(
      where,
      value,
      "must be an absolute path or an S3 bucket URL (the server's working directory is not a safe anchor)",
    );
  return readPattern(value, where, "parse");
}

/**
 * `k=v;k2=v2` into ordered pairs. A value holding a comma becomes a list of
 * trimmed items. A repeated key keeps its first position and takes the
 * last value (as the reference's dict does). Empty items (`a=b;`) are skipped.
 */
export function readInfo(
  value: string,
  where: Where,
): Array<[string, InfoValue]> {
  const pairs = new Map<string, InfoValue>();
  for (const item of value.split(";")) {
    if (item.trim() === "") continue;
    const eq = item.indexOf("=");
    const key = eq < 0 ? "" : item.slice(0, eq).trim();
    if (key === "")
      fail(
        where,
        value,
        `"${item.trim()}" is not key=value (items are separated by ";")`,
      );
    const raw = item.slice(eq + 1).trim();
    pairs.set(
      key,
      raw.includes(",") ? raw.split(",").map((part) => part.trim()) : raw,
    );
  }
  return [...pairs];
}

/**
 * A scalar as the movers want it: a number if numeric, a boolean for
 * Python's words, else the string. "1" and "0" are numbers (the reference
 * made them booleans, so `connection_uptime = 1` meant True).
 */
export function readScalar(value: string): string | number | boolean {
  if (DECIMAL.test(value) && Number.isFinite(Number(value)))
    return Number(value);
  return pythonBool(value) ?? value;
}

/**
 * Options named `prefix__a__b = v` nested into `{a: {b: v}}`, values read by
 * `readScalar`. `legacy` options (the reference's old top-level names, such
 * as `ssh_key_filename`) are taken as `prefix__name` unless that is given.
 */
export function readNested(
  options: ReadonlyMap<string, string>,
  prefix: string,
  at: { file: string; section: string },
  legacy: readonly string[] = [],
): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const entries = [...options].filter(([key]) => key.startsWith(`${prefix}__`));
  for (const name of legacy) {
    const value = options.get(name);
    if (value !== undefined && !options.has(`${prefix}__${name}`))
      entries.unshift([`${prefix}__${name}`, value]);
  }
  for (const [key, value] of entries) {
    setNested(root, key.slice(prefix.length + 2).split("__"), value, {
      ...at,
      option: key,
    });
  }
  return root;
}

function setNested(
  root: Record<string, unknown>,
  parts: string[],
  value: string,
  where: Where,
): void {
  if (parts.some((part) => part === ""))
    fail(where, value, "empty name between double underscores");
  let node = root;
  for (const part of parts.slice(0, -1)) {
    const child = Object.hasOwn(node, part) ? node[part] : (node[part] = {});
    if (typeof child !== "object" || child === null)
      fail(where, value, `"${part}" is also given a plain value`);
    node = child as Record<string, unknown>;
  }
  const last = parts[parts.length - 1] ?? "";
  if (Object.hasOwn(node, last))
    fail(where, value, `"${last}" is also given nested values`);
  node[last] = readScalar(value);
}

/** Freeze `value` and everything reachable from it; returns it, typed readonly. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value))
      deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}

/** A section's options that remember which names were asked for. */
class AskedMap extends Map<string, string> {
  constructor(
    entries: ReadonlyMap<string, string>,
    private readonly asked: Set<string>,
  ) {
    super(entries);
  }

  override get(key: string): string | undefined {
    this.asked.add(key);
    return super.get(key);
  }

  override has(key: string): boolean {
    this.asked.add(key);
    return super.has(key);
  }
}

/** Typed access to one section's options; every error names file, section, option and value. */
export class SectionReader {
  /** The section's name. */
  readonly name: string;
  /** The section's options (lowercased names, `[DEFAULT]` merged in). */
  readonly options: ReadonlyMap<string, string>;

  /** Every option name a reader asked for, present or not (what is left over is unknown). */
  readonly asked = new Set<string>();
  /** Bad values met by `read` (and the readers built on it), collected so one check reports all of them. */
  readonly problems: ConfigError[] = [];

  /** Read `section` of `file` (the name is for error messages). */
  constructor(
    readonly file: string,
    section: RawSection,
  ) {
    this.name = section.name;
    this.options = new AskedMap(section.options, this.asked);
  }

  /** Where `option` of this section is, for `fail` and the readers. */
  where(option: string): Where {
    return { file: this.file, section: this.name, option };
  }

  /** The option's text; undefined when absent or empty (Python code tests it for truth). */
  text(option: string): string | undefined {
    const value = this.options.get(option);
    return value === "" ? undefined : value;
  }

  /** The option's text; a ConfigError when absent or empty. */
  required(option: string): string {
    const value = this.options.get(option);
    if (value === undefined)
      throw new ConfigError("missing required option", this.where(option));
    if (value === "") fail(this.where(option), value, "must not be empty");
    return value;
  }

  /** A required option read by `read`; a bad value is recorded in `problems` and given back raw, so reading goes on. */
  requiredAs(
    option: string,
    read: (value: string, where: Where) => string,
  ): string {
    const value = this.required(option);
    return this.read(option, read, value);
  }

  /**
   * The option read by `read`, or `fallback` when absent. An empty value goes
   * to `read`. A bad value is recorded in `problems` and gives `fallback`, so
   * reading goes on to find the section's other problems.
   */
  read<T, F = undefined>(
    option: string,
    read: (value: string, where: Where) => T,
    fallback?: F,
  ): T | F {
    const value = this.options.get(option);
    if (value === undefined) return fallback as F;
    try {
      return read(value, this.where(option));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.problems.push(err);
      return fallback as F;
    }
  }

  /** A Python-style boolean, `fallback` when absent. */
  bool(option: string, fallback: boolean): boolean {
    return this.read(option, readBool, fallback);
  }

  /** One of `choices` (any case), undefined when absent, empty or bad (bad: recorded in `problems`). */
  choice<C extends string>(
    option: string,
    choices: readonly C[],
  ): C | undefined {
    return this.read(option, (value, where) => {
      if (value === "") return undefined;
      const found = choices.find((choice) => choice === value.toLowerCase());
      if (found === undefined)
        fail(where, value, `not one of ${choices.join(", ")}`);
      return found;
    });
  }

  /** The raw options as a plain object, for change detection. */
  raw(): Record<string, string> {
    return Object.fromEntries(this.options);
  }
}

/** A posttroll subject: no whitespace (it would split the wire fields); empty only if `allowEmpty`. */
export function readTopic(
  value: string,
  where: Where,
  allowEmpty = false,
): string {
  if (value === "" && !allowEmpty) fail(where, value, "must not be empty");
  if (/\s/.test(value)) fail(where, value, "a topic cannot contain whitespace");
  return value;
}

/** Fail when two chains of one file use the same port for `option`. */
export function checkUniquePorts(
  chains: ReadonlyArray<{
    readonly name: string;
    readonly port: number | undefined;
  }>,
  file: string,
  option: string,
): void {
  const seen = new Map<number, string>();
  for (const { name, port } of chains) {
    if (port === undefined || port === 0) continue;
    const other = seen.get(port);
    if (other !== undefined) {
      fail(
        { file, section: name, option },
        String(port),
        `port already used by section [${other}]`,
      );
    }
    seen.set(port, name);
  }
}
