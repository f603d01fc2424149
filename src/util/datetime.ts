/**
 * A calendar datetime the way Python's `datetime` holds one: fields with
 * microseconds, naive (no offset) or aware (offset in minutes). JS `Date`
 * loses both microseconds and naivety, and posttroll metadata needs them to
 * round-trip byte for byte.
 */

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?)?)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

// ---------------------------------------------------------------- calendar
// Proleptic Gregorian arithmetic, the one place for it: DateTime validates
// with it, strftime and strptime compute weekdays and day numbers with it.

/** English day names, Monday first (Python's `weekday()` order), C locale. */
export const DAY_NAMES: readonly string[] = [
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
  "Sunday",
];
/** English month names, January first, C locale. */
export const MONTH_NAMES: readonly string[] = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A Gregorian leap year. */
export function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days in `month` (1-12) of `year`; 0 for a month out of range. */
export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : (MONTH_DAYS[month - 1] ?? 0);
}

/** Days since 1970-01-01 of a proleptic Gregorian date. */
export function daysFromCivil(
  year: number,
  month: number,
  day: number,
): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian date of a day number from `daysFromCivil`. */
export function civilFromDays(days: number): {
  year: number;
  month: number;
  day: number;
} {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe -
      Math.floor(doe / 1460) +
      Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) /
      365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return {
    year: yoe + era * 400 + (month <= 2 ? 1 : 0),
    month,
    day: doy - Math.floor((153 * mp + 2) / 5) + 1,
  };
}

/** Python's `weekday()`: Monday is 0. */
export function weekday(year: number, month: number, day: number): number {
  return (((daysFromCivil(year, month, day) + 3) % 7) + 7) % 7;
}

// ---------------------------------------------------------------- DateTime

export interface DateTimeFields {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
  microsecond?: number;
  /** Offset from UTC in minutes; undefined or null means naive. */
  offsetMinutes?: number | null;
}

export class DateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly microsecond: number;
  /** Minutes east of UTC, or null for a naive datetime. */
  readonly offsetMinutes: number | null;
  /**
   * The exact text this value was decoded from, if any. Encoding writes it
   * back unchanged so a relayed message keeps its bytes.
   */
  readonly sourceText: string | undefined;

  constructor(fields: DateTimeFields, sourceText?: string) {
    this.year = fields.year;
    this.month = fields.month;
    this.day = fields.day;
    this.hour = fields.hour ?? 0;
    this.minute = fields.minute ?? 0;
    this.second = fields.second ?? 0;
    this.microsecond = fields.microsecond ?? 0;
    this.offsetMinutes = fields.offsetMinutes ?? null;
    this.sourceText = sourceText;
    if (!DateTime.valid(this))
      throw new RangeError(`invalid datetime ${this.isoformat()}`);
    Object.freeze(this);
  }

  private static valid(d: DateTime): boolean {
    return (
      Number.isInteger(d.year) &&
      d.year >= 1 &&
      d.year <= 9999 &&
      d.month >= 1 &&
      d.month <= 12 &&
      d.day >= 1 &&
      d.day <= daysInMonth(d.year, d.month) &&
      d.hour >= 0 &&
      d.hour <= 23 &&
      d.minute >= 0 &&
      d.minute <= 59 &&
      d.second >= 0 &&
      d.second <= 59 &&
      d.microsecond >= 0 &&
      d.microsecond <= 999_999 &&
      (d.offsetMinutes === null || Math.abs(d.offsetMinutes) < 24 * 60)
    );
  }

  /** Parse ISO 8601 text as Python's `datetime.fromisoformat` does (common forms); undefined if not one. */
  static parseIso(text: string): DateTime | undefined {
    const m = ISO_RE.exec(text);
    if (m === null) return undefined;
    let offset: number | null = null;
    const tz = m[8];
    if (tz !== undefined) {
      if (tz === "Z") offset = 0;
      else {
        const digits = tz.slice(1).replace(/:/g, "");
        offset =
          (Number(digits.slice(0, 2)) * 60 +
            Number(digits.slice(2, 4) || "0")) *
          (tz[0] === "-" ? -1 : 1);
      }
    }
    const frac = m[7];
    try {
      return new DateTime(
        {
          year: Number(m[1]),
          month: Number(m[2]),
          day: Number(m[3]),
          hour: Number(m[4] ?? 0),
          minute: Number(m[5] ?? 0),
          second: Number(m[6] ?? 0),
          microsecond: frac === undefined ? 0 : Number(frac.padEnd(6, "0")),
          offsetMinutes: offset,
        },
        text,
      );
    } catch {
      return undefined;
    }
  }

  /** From a JS Date: naive UTC by default (posttroll v1.01), or aware UTC. */
  static fromDate(
    date: Date,
    opts: { aware?: boolean; microsecond?: number } = {},
  ): DateTime {
    return new DateTime({
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      hour: date.getUTCHours(),
      minute: date.getUTCMinutes(),
      second: date.getUTCSeconds(),
      microsecond: opts.microsecond ?? date.getUTCMilliseconds() * 1000,
      offsetMinutes: opts.aware === true ? 0 : null,
    });
  }

  /** Now, with microseconds from the high-resolution clock. */
  static now(opts: { aware?: boolean } = {}): DateTime {
    const ms = Date.now();
    const micro =
      Math.floor((performance.timeOrigin + performance.now()) * 1000) % 1000;
    return DateTime.fromDate(new Date(ms), {
      aware: opts.aware,
      microsecond: (ms % 1000) * 1000 + micro,
    });
  }

  get naive(): boolean {
    return this.offsetMinutes === null;
  }

  /** Milliseconds since the epoch; naive values are taken as UTC. */
  valueOf(): number {
    const local = Date.UTC(
      this.year,
      this.month - 1,
      this.day,
      this.hour,
      this.minute,
      this.second,
    );
    return (
      local -
      (this.offsetMinutes ?? 0) * 60_000 +
      Math.floor(this.microsecond / 1000)
    );
  }

  toDate(): Date {
    return new Date(this.valueOf());
  }

  /** Python's `isoformat()`: microseconds only when non-zero, `+HH:MM` when aware. */
  isoformat(): string {
    let s =
      `${pad(this.year, 4)}-${pad(this.month, 2)}-${pad(this.day, 2)}` +
      `T${pad(this.hour, 2)}:${pad(this.minute, 2)}:${pad(this.second, 2)}`;
    if (this.microsecond !== 0) s += `.${pad(this.microsecond, 6)}`;
    if (this.offsetMinutes !== null) {
      const abs = Math.abs(this.offsetMinutes);
      s += `${this.offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
    }
    return s;
  }

  /** The text to put on the wire: the decoded text when there was one. */
  toJSON(): string {
    return this.sourceText ?? this.isoformat();
  }

  toString(): string {
    return this.isoformat();
  }

  /** Same instant and same naivety. */
  equals(other: DateTime): boolean {
    return (
      this.valueOf() === other.valueOf() &&
      this.microsecond === other.microsecond &&
      this.naive === other.naive
    );
  }
}
