/**
 * Python's `datetime.strptime` for `DateTime`, as CPython's `_strptime`
 * does it in the C locale. Its inverse, strftime, is in strftime.ts.
 */
import { PatternError } from "../errors.js";
import {
  DAY_NAMES as DAYS,
  DateTime,
  MONTH_NAMES as MONTHS,
  civilFromDays,
  daysFromCivil,
  isLeap,
  weekday,
} from "../util/datetime.js";

/** Python's `_strptime` regexes, C locale. */
const DIRECTIVES: Readonly<Record<string, string>> = {
  d: "3[01]|[12]\\d|0[1-9]|[1-9]| [1-9]",
  f: "[0-9]{1,6}",
  H: "2[0-3]|[01]\\d|\\d",
  I: "1[0-2]|0[1-9]|[1-9]",
  j: "36[0-6]|3[0-5]\\d|[12]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9]",
  m: "1[0-2]|0[1-9]|[1-9]",
  M: "[0-5]\\d|\\d",
  S: "6[01]|[0-5]\\d|\\d",
  U: "5[0-3]|[0-4]\\d|\\d",
  W: "5[0-3]|[0-4]\\d|\\d",
  w: "[0-6]",
  y: "\\d\\d",
  Y: "\\d\\d\\d\\d",
  z: "[+-]\\d\\d:?[0-5]\\d(?::?[0-5]\\d(?:\\.\\d{1,6})?)?|Z",
};

const NAMES: Readonly<Record<string, readonly string[]>> = {
  a: DAYS.map((d) => d.slice(0, 3).toLowerCase()),
  A: DAYS.map((d) => d.toLowerCase()),
  b: MONTHS.map((m) => m.slice(0, 3).toLowerCase()),
  B: MONTHS.map((m) => m.toLowerCase()),
  p: ["am", "pm"],
  Z: ["utc", "gmt"],
};

const COMPOSITE_IN: Readonly<Record<string, string>> = {
  c: "%a %b %d %H:%M:%S %Y",
  x: "%m/%d/%y",
  X: "%H:%M:%S",
};

/** Case-insensitive regex for literal text (Python compiles with IGNORECASE). */
function caseless(text: string): string {
  let out = "";
  for (const ch of text) {
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    if (lo !== up && [...lo].length === 1 && [...up].length === 1)
      out += `[${lo}${up}]`;
    else out += ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }
  return out;
}

function literalRegex(text: string): string {
  return text
    .split(/(\s+)/u)
    .map((part, i) => (i % 2 === 1 ? "\\s+" : caseless(part)))
    .join("");
}

function directiveRegex(code: string): string | undefined {
  const names = NAMES[code];
  if (names === undefined) return DIRECTIVES[code];
  return [...names]
    .sort((x, y) => y.length - x.length)
    .map(caseless)
    .join("|");
}

interface CompiledFormat {
  readonly re: RegExp;
  /** The directive of each capture group, in order. */
  readonly codes: readonly string[];
}

function compileInto(
  fmt: string,
  whole: string,
  parts: string[],
  codes: string[],
): void {
  let lit = "";
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== "%") {
      lit += fmt[i];
      continue;
    }
    const code = fmt[++i];
    if (code === undefined)
      throw new PatternError(`stray % in format '${whole}'`);
    if (code === "%") {
      lit += "%";
      continue;
    }
    parts.push(literalRegex(lit));
    lit = "";
    const composite = COMPOSITE_IN[code];
    if (composite !== undefined) {
      compileInto(composite, whole, parts, codes);
      continue;
    }
    const re = directiveRegex(code);
    if (re === undefined)
      throw new PatternError(
        `'${code}' is a bad directive in format '${whole}'`,
      );
    if (codes.includes(code))
      throw new PatternError(
        `redefinition of group name '${code}' in format '${whole}'`,
      );
    parts.push(`(${re})`);
    codes.push(code);
  }
  parts.push(literalRegex(lit));
}

const FORMAT_CACHE = new Map<string, CompiledFormat>();
const FORMAT_CACHE_SIZE = 128;

function compileFormat(fmt: string): CompiledFormat {
  const hit = FORMAT_CACHE.get(fmt);
  if (hit !== undefined) return hit;
  const parts: string[] = [];
  const codes: string[] = [];
  compileInto(fmt, fmt, parts, codes);
  const compiled = { re: new RegExp(`^(?:${parts.join("")})`, "u"), codes };
  if (FORMAT_CACHE.size >= FORMAT_CACHE_SIZE)
    FORMAT_CACHE.delete(FORMAT_CACHE.keys().next().value as string);
  FORMAT_CACHE.set(fmt, compiled);
  return compiled;
}

interface Fields {
  year: number | null;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  microsecond: number;
  offset: number | null;
  /** Monday = 0. */
  weekday: number | null;
  julian: number | null;
  week: number | null;
  weekStartsMon: boolean;
}

function hour12(hour: number, ampm: string | undefined): number {
  if ((ampm ?? "").toLowerCase() === "pm") return hour === 12 ? 12 : hour + 12;
  return hour === 12 ? 0 : hour;
}

/** Minutes east of UTC from a `%z` match. */
function parseOffset(text: string): number {
  if (text === "Z") return 0;
  let z = text;
  if (z[3] === ":") {
    z = z.slice(0, 3) + z.slice(4);
    if (z.length > 5) {
      if (z[5] !== ":")
        throw new PatternError(`Inconsistent use of : in ${text}`);
      z = z.slice(0, 5) + z.slice(6);
    }
  }
  if (!/^[+-]\d{4}(?:\d\d(?:\.\d+)?)?$/.test(z))
    throw new PatternError(`invalid UTC offset ${text}`);
  if (/[1-9]/.test(z.slice(5)))
    throw new PatternError(`UTC offset with seconds is not supported: ${text}`);
  const minutes = Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5));
  return z[0] === "-" ? -minutes : minutes;
}

function nameIndex(code: string, text: string): number {
  return (NAMES[code] as readonly string[]).indexOf(text.toLowerCase());
}

/** Store one matched directive, as `_strptime` does. */
function applyDirective(
  f: Fields,
  code: string,
  text: string,
  found: Map<string, string>,
): void {
  const n = Number.parseInt(text.trim(), 10);
  switch (code) {
    case "y":
      f.year = n <= 68 ? n + 2000 : n + 1900;
      break;
    case "Y":
      f.year = n;
      break;
    case "m":
      f.month = n;
      break;
    case "b":
    case "B":
      f.month = nameIndex(code, text) + 1;
      break;
    case "d":
      f.day = n;
      break;
    case "H":
      f.hour = n;
      break;
    case "I":
      f.hour = hour12(n, found.get("p"));
      break;
    case "M":
      f.minute = n;
      break;
    case "S":
      f.second = n;
      break;
    case "f":
      f.microsecond = Number(text.padEnd(6, "0"));
      break;
    case "a":
    case "A":
      f.weekday = nameIndex(code, text);
      break;
    case "w":
      f.weekday = n === 0 ? 6 : n - 1;
      break;
    case "j":
      f.julian = n;
      break;
    case "U":
    case "W":
      f.week = n;
      f.weekStartsMon = code === "W";
      break;
    case "z":
      f.offset = parseOffset(text);
      break;
    default:
      break; // %p is read with %I; %Z is matched but ignored
  }
}

/** Day of the year from a `%U`/`%W` week number and a weekday. */
function julianFromWeek(
  year: number,
  week: number,
  wday: number,
  startsMon: boolean,
): number {
  let first = weekday(year, 1, 1);
  let day = wday;
  if (!startsMon) {
    first = (first + 1) % 7;
    day = (day + 1) % 7;
  }
  if (week === 0) return 1 + day - first;
  return 1 + ((7 - first) % 7) + 7 * (week - 1) + day;
}

/** Resolve the fields to a date the way `_strptime` does (defaults, %j, %U/%W). */
function resolveDate(f: Fields): { year: number; month: number; day: number } {
  // Feb 29 without a year is worked out in 1904, then put back to 1900 (and fails).
  const leapFix = f.year === null && f.month === 2 && f.day === 29;
  let year = f.year ?? (leapFix ? 1904 : 1900);
  let julian = f.julian;
  if (julian === null && f.weekday !== null && f.week !== null) {
    julian = julianFromWeek(year, f.week, f.weekday, f.weekStartsMon);
    if (julian <= 0) {
      year -= 1;
      julian += isLeap(year) ? 366 : 365;
    }
  }
  const date =
    julian === null
      ? { year, month: f.month, day: f.day }
      : civilFromDays(daysFromCivil(year, 1, 1) + julian - 1);
  return leapFix ? { ...date, year: 1900 } : date;
}

function buildDateTime(found: Map<string, string>): DateTime {
  const f: Fields = {
    year: null,
    month: 1,
    day: 1,
    hour: 0,
    minute: 0,
    second: 0,
    microsecond: 0,
    offset: null,
    weekday: null,
    julian: null,
    week: null,
    weekStartsMon: false,
  };
  for (const [code, text] of found) applyDirective(f, code, text, found);
  const { year, month, day } = resolveDate(f);
  const { hour, minute, second, microsecond, offset } = f;
  try {
    return new DateTime({
      year,
      month,
      day,
      hour,
      minute,
      second,
      microsecond,
      offsetMinutes: offset,
    });
  } catch (err) {
    throw new PatternError(
      `invalid date or time: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * Python's `datetime.strptime(text, fmt)`: whitespace in `fmt` matches any
 * run of whitespace, matching ignores case, `%f` takes 1 to 6 digits, and
 * text left after the match is an error. Naive unless `%z` is used.
 * @throws PatternError when the text does not match or the date is invalid.
 */
export function strptime(text: string, fmt: string): DateTime {
  const { re, codes } = compileFormat(fmt);
  const m = re.exec(text);
  if (m === null)
    throw new PatternError(
      `time data '${text}' does not match format '${fmt}'`,
    );
  if (m[0].length !== text.length) {
    throw new PatternError(
      `unconverted data remains: ${text.slice(m[0].length)}`,
    );
  }
  const found = new Map<string, string>();
  codes.forEach((code, i) => found.set(code, m[i + 1] ?? ""));
  return buildDateTime(found);
}
