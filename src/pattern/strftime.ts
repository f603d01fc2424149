/**
 * Python's `datetime.strftime` (glibc, C locale) and `datetime.strptime`
 * (CPython's `_strptime`, C locale) for `DateTime`.
 */
import { PatternError } from "../errors.js";
import { DateTime } from "../util/datetime.js";

const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
  "October", "November", "December"];

/** Days since 1970-01-01 of a proleptic Gregorian date. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day number from `daysFromCivil`. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day: doy - Math.floor((153 * mp + 2) / 5) + 1 };
}

/** Python's `weekday()`: Monday is 0. */
function weekday(year: number, month: number, day: number): number {
  return (((daysFromCivil(year, month, day) + 3) % 7) + 7) % 7;
}

// ---------------------------------------------------------------- strftime

interface Calendar {
  readonly dt: DateTime;
  /** Monday = 0. */
  readonly wday: number;
  /** 1-based day of the year. */
  readonly yday: number;
}

type Numeric = [value: number, width: number, pad?: " "];

function isoWeek(c: Calendar): { year: number; week: number } {
  const days = daysFromCivil(c.dt.year, c.dt.month, c.dt.day);
  const thursday = days - c.wday + 3;
  const year = civilFromDays(thursday).year;
  return { year, week: Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1 };
}

const NUMERIC: Readonly<Record<string, (c: Calendar) => Numeric>> = {
  Y: (c) => [c.dt.year, 1],
  y: (c) => [c.dt.year % 100, 2],
  C: (c) => [Math.floor(c.dt.year / 100), 2],
  m: (c) => [c.dt.month, 2],
  d: (c) => [c.dt.day, 2],
  e: (c) => [c.dt.day, 2, " "],
  H: (c) => [c.dt.hour, 2],
  k: (c) => [c.dt.hour, 2, " "],
  I: (c) => [c.dt.hour % 12 || 12, 2],
  l: (c) => [c.dt.hour % 12 || 12, 2, " "],
  M: (c) => [c.dt.minute, 2],
  S: (c) => [c.dt.second, 2],
  f: (c) => [c.dt.microsecond, 6],
  j: (c) => [c.yday, 3],
  w: (c) => [(c.wday + 1) % 7, 1],
  u: (c) => [c.wday + 1, 1],
  U: (c) => [Math.floor((c.yday - 1 + 7 - ((c.wday + 1) % 7)) / 7), 2],
  W: (c) => [Math.floor((c.yday - 1 + 7 - c.wday) / 7), 2],
  G: (c) => [isoWeek(c).year, 1],
  g: (c) => [isoWeek(c).year % 100, 2],
  V: (c) => [isoWeek(c).week, 2],
  s: (c) => [Math.floor(c.dt.valueOf() / 1000), 1],
};

function utcOffset(dt: DateTime, forName: boolean): string {
  const off = dt.offsetMinutes;
  if (off === null) return "";
  if (forName && off === 0) return "UTC";
  const abs = Math.abs(off);
  const hh = String(Math.floor(abs / 60)).padStart(2, "0");
  const mm = String(abs % 60).padStart(2, "0");
  const sign = off < 0 ? "-" : "+";
  return forName ? `UTC${sign}${hh}:${mm}` : `${sign}${hh}${mm}`;
}

const TEXT: Readonly<Record<string, (c: Calendar) => string>> = {
  a: (c) => (DAYS[c.wday] as string).slice(0, 3),
  A: (c) => DAYS[c.wday] as string,
  b: (c) => (MONTHS[c.dt.month - 1] as string).slice(0, 3),
  h: (c) => (MONTHS[c.dt.month - 1] as string).slice(0, 3),
  B: (c) => MONTHS[c.dt.month - 1] as string,
  p: (c) => (c.dt.hour < 12 ? "AM" : "PM"),
  P: (c) => (c.dt.hour < 12 ? "am" : "pm"),
  z: (c) => utcOffset(c.dt, false),
  Z: (c) => utcOffset(c.dt, true),
  n: () => "\n",
  t: () => "\t",
  "%": () => "%",
};

const COMPOSITE_OUT: Readonly<Record<string, string>> = {
  c: "%a %b %e %H:%M:%S %Y", x: "%m/%d/%y", X: "%H:%M:%S", D: "%m/%d/%y",
  F: "%Y-%m-%d", T: "%H:%M:%S", R: "%H:%M", r: "%I:%M:%S %p",
};

function expand(c: Calendar, code: string, flags: string): string | undefined {
  const num = NUMERIC[code];
  if (num !== undefined) {
    const [value, width, pad = "0"] = num(c);
    const digits = String(Math.abs(value));
    const sign = value < 0 ? "-" : "";
    if (flags.includes("-")) return sign + digits;
    const padChar = flags.includes("_") ? " " : flags.includes("0") ? "0" : pad;
    return sign + digits.padStart(width, padChar);
  }
  const text = TEXT[code]?.(c);
  if (text !== undefined) return flags.includes("^") ? text.toUpperCase() : text;
  const composite = COMPOSITE_OUT[code];
  return composite === undefined ? undefined : render(c, composite);
}

function render(c: Calendar, fmt: string): string {
  let out = "";
  for (let i = 0; i < fmt.length; i++) {
    const ch = fmt[i] as string;
    if (ch !== "%") {
      out += ch;
      continue;
    }
    let j = i + 1;
    while (j < fmt.length && "-_0^#".includes(fmt[j] as string)) j++;
    const code = fmt[j];
    const text = code === undefined ? undefined : expand(c, code, fmt.slice(i + 1, j));
    out += text ?? fmt.slice(i, j + 1);
    i = j;
  }
  return out;
}

/**
 * Python's `datetime.strftime(fmt)` on Linux, C locale: the codes listed in
 * DT_GLOBS plus glibc's e k l P u C D F T R r h n t G g V s (naive = UTC) and the flags
 * `-` `_` `0` `^`. Unknown codes are copied as written.
 */
export function strftime(dt: DateTime | Date, fmt: string): string {
  const d = dt instanceof Date ? DateTime.fromDate(dt) : dt;
  const yday = daysFromCivil(d.year, d.month, d.day) - daysFromCivil(d.year, 1, 1) + 1;
  return render({ dt: d, wday: weekday(d.year, d.month, d.day), yday }, fmt);
}

// ---------------------------------------------------------------- strptime

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
  c: "%a %b %d %H:%M:%S %Y", x: "%m/%d/%y", X: "%H:%M:%S",
};

/** Case-insensitive regex for literal text (Python compiles with IGNORECASE). */
function caseless(text: string): string {
  let out = "";
  for (const ch of text) {
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    if (lo !== up && [...lo].length === 1 && [...up].length === 1) out += `[${lo}${up}]`;
    else out += ch.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  }
  return out;
}

function literalRegex(text: string): string {
  return text.split(/(\s+)/u).map((part, i) => (i % 2 === 1 ? "\\s+" : caseless(part))).join("");
}

function directiveRegex(code: string): string | undefined {
  const names = NAMES[code];
  if (names === undefined) return DIRECTIVES[code];
  return [...names].sort((x, y) => y.length - x.length).map(caseless).join("|");
}

interface CompiledFormat {
  readonly re: RegExp;
  /** The directive of each capture group, in order. */
  readonly codes: readonly string[];
}

function compileInto(fmt: string, whole: string, parts: string[], codes: string[]): void {
  let lit = "";
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== "%") {
      lit += fmt[i];
      continue;
    }
    const code = fmt[++i];
    if (code === undefined) throw new PatternError(`stray % in format '${whole}'`);
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
    if (re === undefined) throw new PatternError(`'${code}' is a bad directive in format '${whole}'`);
    if (codes.includes(code)) throw new PatternError(`redefinition of group name '${code}' in format '${whole}'`);
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
  if (FORMAT_CACHE.size >= FORMAT_CACHE_SIZE) FORMAT_CACHE.delete(FORMAT_CACHE.keys().next().value as string);
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
      if (z[5] !== ":") throw new PatternError(`Inconsistent use of : in ${text}`);
      z = z.slice(0, 5) + z.slice(6);
    }
  }
  if (!/^[+-]\d{4}(?:\d\d(?:\.\d+)?)?$/.test(z)) throw new PatternError(`invalid UTC offset ${text}`);
  if (/[1-9]/.test(z.slice(5))) throw new PatternError(`UTC offset with seconds is not supported: ${text}`);
  const minutes = Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5));
  return z[0] === "-" ? -minutes : minutes;
}

function nameIndex(code: string, text: string): number {
  return (NAMES[code] as readonly string[]).indexOf(text.toLowerCase());
}

/** Store one matched directive, as `_strptime` does. */
function applyDirective(f: Fields, code: string, text: string, found: Map<string, string>): void {
  const n = Number.parseInt(text.trim(), 10);
  switch (code) {
    case "y": f.year = n <= 68 ? n + 2000 : n + 1900; break;
    case "Y": f.year = n; break;
    case "m": f.month = n; break;
    case "b": case "B": f.month = nameIndex(code, text) + 1; break;
    case "d": f.day = n; break;
    case "H": f.hour = n; break;
    case "I": f.hour = hour12(n, found.get("p")); break;
    case "M": f.minute = n; break;
    case "S": f.second = n; break;
    case "f": f.microsecond = Number(text.padEnd(6, "0")); break;
    case "a": case "A": f.weekday = nameIndex(code, text); break;
    case "w": f.weekday = n === 0 ? 6 : n - 1; break;
    case "j": f.julian = n; break;
    case "U": case "W": f.week = n; f.weekStartsMon = code === "W"; break;
    case "z": f.offset = parseOffset(text); break;
    default: break; // %p is read with %I; %Z is matched but ignored
  }
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Day of the year from a `%U`/`%W` week number and a weekday. */
function julianFromWeek(year: number, week: number, wday: number, startsMon: boolean): number {
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
  const date = julian === null ? { year, month: f.month, day: f.day } : civilFromDays(daysFromCivil(year, 1, 1) + julian - 1);
  return leapFix ? { ...date, year: 1900 } : date;
}

function buildDateTime(found: Map<string, string>): DateTime {
  const f: Fields = {
    year: null, month: 1, day: 1, hour: 0, minute: 0, second: 0, microsecond: 0,
    offset: null, weekday: null, julian: null, week: null, weekStartsMon: false,
  };
  for (const [code, text] of found) applyDirective(f, code, text, found);
  const { year, month, day } = resolveDate(f);
  const { hour, minute, second, microsecond, offset } = f;
  try {
    return new DateTime({ year, month, day, hour, minute, second, microsecond, offsetMinutes: offset });
  } catch (err) {
    throw new PatternError(`invalid date or time: ${err instanceof Error ? err.message : String(err)}`);
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
  if (m === null) throw new PatternError(`time data '${text}' does not match format '${fmt}'`);
  if (m[0].length !== text.length) {
    throw new PatternError(`unconverted data remains: ${text.slice(m[0].length)}`);
  }
  const found = new Map<string, string>();
  codes.forEach((code, i) => found.set(code, m[i + 1] ?? ""));
  return buildDateTime(found);
}
