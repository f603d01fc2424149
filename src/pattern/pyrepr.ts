/**
 * Python's `str()` and `repr()` of the values a pattern can be composed
 * from, for empty format specs and the `!s`/`!r`/`!a` conversions.
 */
import { DateTime } from "../util/datetime.js";
import { PyFloat, pyFloatRepr } from "../util/pyfloat.js";

function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x < 0 ? "-inf" : "inf";
  return pyFloatRepr(x);
}

function numberStr(x: number): string {
  if (Number.isInteger(x) && !Object.is(x, -0)) return BigInt(x).toString();
  return floatRepr(x);
}

/** Python's `repr(str)`: single quotes unless the text has only `'`. */
function stringRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code < 0xa0))
      out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + quote;
}

function dateTimeRepr(d: DateTime): string {
  const parts = [d.year, d.month, d.day, d.hour, d.minute];
  if (d.second !== 0 || d.microsecond !== 0) parts.push(d.second);
  if (d.microsecond !== 0) parts.push(d.microsecond);
  let tz = "";
  if (d.offsetMinutes === 0) tz = ", tzinfo=datetime.timezone.utc";
  else if (d.offsetMinutes !== null) {
    const secs = d.offsetMinutes * 60;
    const delta =
      secs < 0 ? `days=-1, seconds=${86400 + secs}` : `seconds=${secs}`;
    tz = `, tzinfo=datetime.timezone(datetime.timedelta(${delta}))`;
  }
  return `datetime.datetime(${parts.join(", ")}${tz})`;
}

function containerStr(value: object): string | undefined {
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (value instanceof Map) {
    return `{${[...value].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
  }
  if (
    Object.getPrototypeOf(value) === Object.prototype ||
    Object.getPrototypeOf(value) === null
  ) {
    return `{${Object.entries(value)
      .map(([k, v]) => `${stringRepr(k)}: ${pyRepr(v)}`)
      .join(", ")}}`;
  }
  return undefined;
}

/** Python's `str(value)` for JS values (None, True, floats as repr, datetimes with a space). */
export function pyStr(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return numberStr(value);
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "boolean") return value ? "True" : "False";
  if (value === null || value === undefined) return "None";
  if (value instanceof PyFloat) return floatRepr(value.value);
  if (value instanceof Date) return pyStr(DateTime.fromDate(value));
  if (value instanceof DateTime) return value.isoformat().replace("T", " ");
  if (typeof value === "object") return containerStr(value) ?? String(value);
  return String(value);
}

/** Python's `repr(value)` for JS values. */
export function pyRepr(value: unknown): string {
  if (typeof value === "string") return stringRepr(value);
  if (value instanceof Date) return dateTimeRepr(DateTime.fromDate(value));
  if (value instanceof DateTime) return dateTimeRepr(value);
  return pyStr(value);
}

/** Python's `ascii(value)`: repr with non-ASCII characters escaped. */
export function pyAscii(value: unknown): string {
  let out = "";
  for (const ch of pyRepr(value)) {
    const code = ch.codePointAt(0) as number;
    if (code < 0x80) out += ch;
    else if (code < 0x100) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return out;
}
