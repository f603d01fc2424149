/**
 * Python's `format(value, spec)` for the values a pattern is composed from:
 * str, int (number/bigint/boolean), float (PyFloat or a non-integer number)
 * and datetime (DateTime/Date, through strftime). Floats are rounded from
 * their exact binary value, half to even, as CPython does.
 */
import { PatternError } from "../errors.js";
import { DateTime } from "../util/datetime.js";
import { PyFloat, pyFloatRepr } from "../util/pyfloat.js";
import { parseFormatSpec } from "./format-spec.js";
import type { Align, FormatSpec } from "./format-spec.js";
import { strftime } from "./strftime.js";
import { pyStr } from "./pyrepr.js";
import {
  fixedDigits,
  generalDigits,
  scientificDigits,
} from "./pyfloat-digits.js";

/** The spec once defaults and the `0` flag are applied. */
interface Layout {
  readonly fill: string;
  readonly align: Align;
  readonly width: number;
}

function layout(spec: FormatSpec, defaultAlign: Align): Layout {
  let fill = spec.fill ?? " ";
  let align = spec.align ?? defaultAlign;
  if (spec.zeroPad) {
    fill = "0";
    if (spec.align === undefined && defaultAlign === ">") align = "=";
  }
  return { fill, align, width: spec.width ?? 0 };
}

function len(s: string): number {
  return [...s].length;
}

/** Pad `lead + body` to the width; `=` puts the padding between them. */
function pad(lead: string, body: string, l: Layout): string {
  const n = l.width - len(lead) - len(body);
  if (n <= 0) return lead + body;
  const fill = (k: number): string => l.fill.repeat(k);
  switch (l.align) {
    case "<":
      return lead + body + fill(n);
    case ">":
      return fill(n) + lead + body;
    case "=":
      return lead + fill(n) + body;
    default:
      return (
        fill(Math.floor(n / 2)) + lead + body + fill(n - Math.floor(n / 2))
      );
  }
}

/**
 * Insert a separator every `size` digits from the right, padding with
 * zeros to at least `minWidth` characters the way CPython does for `0`
 * fill with `=` alignment (it never starts with a separator).
 */
export function groupDigits(
  digits: string,
  sep: string,
  size: number,
  minWidth: number,
): string {
  const groups: string[] = [];
  let remaining = digits.length;
  let min = minWidth;
  for (;;) {
    const l = Math.min(size, Math.max(remaining, min, 1));
    const chars = Math.max(0, Math.min(remaining, l));
    groups.unshift(
      "0".repeat(Math.max(0, l - remaining)) +
        digits.slice(remaining - chars, remaining),
    );
    remaining -= chars;
    min -= l;
    if (remaining <= 0 && min <= 0) break;
    min -= sep.length;
  }
  return groups.join(sep);
}

function signOf(negative: boolean, spec: FormatSpec): string {
  if (negative) return "-";
  return spec.sign === "+" ? "+" : spec.sign === " " ? " " : "";
}

/** Lay out a number: sign/prefix, integer digits (grouped), then the rest. */
function numberLayout(
  lead: string,
  digits: string,
  rest: string,
  spec: FormatSpec,
  groupSize: number,
): string {
  const l = layout(spec, ">");
  let body = digits;
  if (spec.grouping !== undefined && digits !== "") {
    const zeroFill = l.fill === "0" && l.align === "=";
    const min = zeroFill ? l.width - len(lead) - len(rest) : 0;
    body = groupDigits(digits, spec.grouping, groupSize, min);
  }
  return pad(lead, body + rest, l);
}

function typeError(type: string, kind: string): PatternError {
  return new PatternError(
    `Unknown format code '${type}' for object of type '${kind}'`,
  );
}

function formatString(s: string, spec: FormatSpec): string {
  if (spec.type !== undefined && spec.type !== "s")
    throw typeError(spec.type, "str");
  if (spec.sign !== undefined)
    throw new PatternError("Sign not allowed in string format specifier");
  if (spec.alternate)
    throw new PatternError(
      "Alternate form (#) not allowed in string format specifier",
    );
  if (spec.coerceZero)
    throw new PatternError(
      "Negative zero coercion (z) not allowed in format specifier",
    );
  if (spec.grouping !== undefined)
    throw new PatternError(`Cannot specify '${spec.grouping}' with 's'.`);
  if (spec.align === "=")
    throw new PatternError(
      "'=' alignment not allowed in string format specifier",
    );
  const text =
    spec.precision === undefined ? s : [...s].slice(0, spec.precision).join("");
  return pad("", text, layout(spec, "<"));
}

const RADIX: Readonly<Record<string, number>> = {
  b: 2,
  o: 8,
  x: 16,
  X: 16,
  d: 10,
  n: 10,
};

function checkIntSpec(type: string, spec: FormatSpec): void {
  if (RADIX[type] === undefined && type !== "c") throw typeError(type, "int");
  if (spec.precision !== undefined)
    throw new PatternError("Precision not allowed in integer format specifier");
  if (spec.coerceZero)
    throw new PatternError(
      "Negative zero coercion (z) not allowed in integer format specifier",
    );
  const sep = spec.grouping;
  if (sep === "," && type !== "d")
    throw new PatternError(`Cannot specify ',' with '${type}'.`);
  if (sep === "_" && (type === "n" || type === "c"))
    throw new PatternError(`Cannot specify '_' with '${type}'.`);
  if (type === "c" && (spec.sign !== undefined || spec.alternate)) {
    throw new PatternError(
      "Sign and alternate form not allowed with integer format specifier 'c'",
    );
  }
}

function formatInt(n: bigint, spec: FormatSpec): string {
  const type = spec.type ?? "d";
  if ("eEfFgG%".includes(type)) return formatFloat(Number(n), spec);
  checkIntSpec(type, spec);
  if (type === "c") {
    if (n < 0n || n > 0x10ffffn)
      throw new PatternError("%c arg not in range(0x110000)");
    return pad("", String.fromCodePoint(Number(n)), layout(spec, ">"));
  }
  const radix = RADIX[type] as number;
  const abs = n < 0n ? -n : n;
  let digits = abs.toString(radix);
  if (type === "X") digits = digits.toUpperCase();
  const prefix =
    spec.alternate && radix !== 10 ? `0${type === "o" ? "o" : type}` : "";
  return numberLayout(
    signOf(n < 0n, spec) + prefix,
    digits,
    "",
    spec,
    radix === 10 ? 3 : 4,
  );
}

/** The digits of a finite non-negative float for one presentation type (`%` pre-scaled). */
function floatBody(a: number, spec: FormatSpec): string {
  const p = spec.precision;
  const alt = spec.alternate;
  switch (spec.type) {
    case "f":
    case "F":
    case "%":
      return fixedDigits(a, p ?? 6, alt);
    case "e":
    case "E":
      return scientificDigits(a, p ?? 6, alt, spec.type);
    case "g":
    case "G":
    case "n":
      return generalDigits(
        a,
        p ?? 6,
        alt,
        false,
        spec.type === "G" ? "E" : "e",
      );
    default:
      return p === undefined
        ? pyFloatRepr(a)
        : generalDigits(a, p, alt, true, "e");
  }
}

function formatFloat(value: number, spec: FormatSpec): string {
  const type = spec.type;
  if (type !== undefined && !"eEfFgGn%".includes(type))
    throw typeError(type, "float");
  if (type === "n" && spec.grouping !== undefined)
    throw new PatternError(`Cannot specify '${spec.grouping}' with 'n'.`);
  const x = type === "%" ? value * 100 : value;
  const a = Math.abs(x);
  let body: string;
  if (Number.isFinite(a)) body = floatBody(a, spec);
  else
    body =
      type !== undefined && "EFG".includes(type)
        ? Number.isNaN(a)
          ? "NAN"
          : "INF"
        : Number.isNaN(a)
          ? "nan"
          : "inf";
  if (type === "%") body += "%";
  let negative = x < 0 || Object.is(x, -0);
  if (negative && spec.coerceZero && Number.isFinite(a) && !/[1-9]/.test(body))
    negative = false;
  const digits = /^\d*/.exec(body)?.[0] ?? "";
  return numberLayout(
    signOf(negative, spec),
    digits,
    body.slice(digits.length),
    spec,
    3,
  );
}

function asDateTime(value: unknown): DateTime | undefined {
  if (value instanceof DateTime) return value;
  if (value instanceof Date) return DateTime.fromDate(value);
  return undefined;
}

/**
 * Python's `format(value, spec)`. An empty spec gives `str(value)`; a
 * datetime takes any other spec as a strftime format.
 * @throws PatternError when Python would raise (bad spec, wrong type).
 */
export function formatValue(value: unknown, specText: string): string {
  if (specText === "") return pyStr(value);
  const dt = asDateTime(value);
  if (dt !== undefined) return strftime(dt, specText);
  const spec = parseFormatSpec(specText);
  if (typeof value === "string") return formatString(value, spec);
  if (typeof value === "bigint") return formatInt(value, spec);
  if (typeof value === "boolean") return formatInt(value ? 1n : 0n, spec);
  if (value instanceof PyFloat) return formatFloat(value.value, spec);
  if (typeof value === "number") {
    return Number.isInteger(value) && !Object.is(value, -0)
      ? formatInt(BigInt(value), spec)
      : formatFloat(value, spec);
  }
  throw new PatternError(
    `unsupported format string passed to ${typeof value}.__format__`,
  );
}
