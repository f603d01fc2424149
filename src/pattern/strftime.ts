/**
 * Python's `datetime.strftime` for `DateTime`, as CPython does it on glibc
 * in the C locale. Its inverse, strptime, is in strptime.ts.
 */
import {
  DAY_NAMES as DAYS,
  DateTime,
  MONTH_NAMES as MONTHS,
  civilFromDays,
  daysFromCivil,
  weekday,
} from "../util/datetime.js";

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
  return {
    year,
    week: Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1,
  };
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
  c: "%a %b %e %H:%M:%S %Y",
  x: "%m/%d/%y",
  X: "%H:%M:%S",
  D: "%m/%d/%y",
  F: "%Y-%m-%d",
  T: "%H:%M:%S",
  R: "%H:%M",
  r: "%I:%M:%S %p",
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
  if (text !== undefined)
    return flags.includes("^") ? text.toUpperCase() : text;
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
    const text =
      code === undefined ? undefined : expand(c, code, fmt.slice(i + 1, j));
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
  const yday =
    daysFromCivil(d.year, d.month, d.day) - daysFromCivil(d.year, 1, 1) + 1;
  return render({ dt: d, wday: weekday(d.year, d.month, d.day), yday }, fmt);
}
