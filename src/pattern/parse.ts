/**
 * trollsift's `parse` and `validate`: a pattern is compiled once to a
 * regular expression (cached), matched, and each field's text converted
 * by its spec (strptime, int, float or string).
 */
import { PatternError } from "../errors.js";
import type { DateTime } from "../util/datetime.js";
import { PyFloat } from "../util/pyfloat.js";
import {
  DT_GLOBS,
  matchLooseSpec,
  splitDateSpec,
  tokenize,
} from "./format-spec.js";
import type { FieldToken } from "./format-spec.js";
import { strptime } from "./strptime.js";

/** What `parse` returns for one field. */
export type ParsedValue = string | number | PyFloat | DateTime;

/** Options of `parse`. */
export interface ParseOptions {
  /** Require the whole string to match (default true); false matches a prefix. */
  readonly fullMatch?: boolean;
}

/** One distinct field of a compiled pattern. */
export interface CompiledField {
  readonly name: string;
  /** The spec that converts the text (the last one written, as trollsift). */
  readonly spec: string;
  /** The regex group holding the field's text. */
  readonly group: string;
}

/** A pattern compiled to regular expressions. */
export interface CompiledPattern {
  readonly pattern: string;
  /** Whole-string match (`^...$`, where `$` also allows one final newline, like Python's). */
  readonly full: RegExp;
  /** Prefix match (Python's `re.match` without `$`). */
  readonly prefix: RegExp;
  readonly fields: readonly CompiledField[];
}

/** How many compiled patterns are kept (least recently used first out). */
export const PATTERN_CACHE_SIZE = 256;
const CACHE = new Map<string, CompiledPattern>();

const FLOAT_CHARS = "[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?";
const HEX_CHARS = "[-+]?(?:0[xX])?[\\dA-Fa-f]";
/** trollsift's per-type character regexes (from Python's "simulating scanf"); `""` is no type. */
const CHAR_REGEX: Readonly<Record<string, string>> = {
  "": "\\S",
  b: "[-+]?[01]",
  c: "[^\\n]",
  d: "[-+]?\\d",
  o: "[-+]?[0-7]",
  s: "\\S",
  x: HEX_CHARS,
  X: HEX_CHARS,
  f: FLOAT_CHARS,
  e: FLOAT_CHARS,
  E: FLOAT_CHARS,
  g: FLOAT_CHARS,
};
const ALLOW_MULTIPLE = ["b", "c", "d", "o", "s", "", "x", "X"];
const SPACE_FILLED = ["s", "", "d", "x", "X", "o", "b"];
const FIXED_POINT = ["f", "e", "E", "g"];
const DT_DIGITS = "\\d";
/** Python's `.`: anything but a newline (JS's `.` also stops at \r, U+2028, U+2029). */
const ANY = "[^\\n]";
const DT_WORD = "[^ \\t\\n\\r\\f\\v\\-_:]+";

/** Python's `str.isidentifier()`: regex group names must be identifiers. */
const IDENTIFIER = /^[\p{XID_Start}_]\p{XID_Continue}*$/u;

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}

function invalidSpec(spec: string): PatternError {
  return new PatternError(`Invalid format specification: '${spec}'`);
}

/** Regex of a datetime spec: `?`-codes become `\d{N}`, `*`-codes a word without separators. */
function datetimeRegex(spec: string): string {
  return splitDateSpec(spec)
    .map((part) => {
      if ("text" in part) return escapeRegex(part.text);
      if (part.code === "%") return "%";
      const glob = DT_GLOBS[part.code] as string;
      return glob === "*" ? DT_WORD : `${DT_DIGITS}{${glob.length}}`;
    })
    .join("");
}

/**
 * trollsift's fixed-point regex: with a width or a precision, at least
 * `width` characters ahead, digits or spaces, then groups of exactly
 * `precision` decimals.
 */
function fixedPointRegex(
  width: string | undefined,
  precision: string | undefined,
): string {
  if (width === undefined && precision === undefined) return FLOAT_CHARS;
  const decimals =
    precision === undefined ? "0," : precision.replace(/^\.+|\.+$/g, "");
  const ahead = width ?? "1,";
  return `(?=${ANY}{${ahead}})(?:[-+]?(?:[\\d ]+(?:\\.\\d{${decimals}})+|\\.\\d{${decimals}})(?:[eE][-+]?\\d+)?)`;
}

/** Regex of a non-datetime spec, from trollsift's loose reading of it. */
function specRegex(spec: string): string {
  const m = matchLooseSpec(spec.replace(/\\/g, ""));
  const { type, width } = m;
  let fill = m.fill;
  if (fill === undefined) {
    if (width !== undefined && width.startsWith("0")) fill = "0";
    else if (SPACE_FILLED.includes(type)) fill = " ";
  }
  let char = CHAR_REGEX[type];
  if (char === undefined)
    throw new PatternError(
      `Invalid format specification: '${spec}' (type '${type}' cannot be parsed)`,
    );
  const fixed = FIXED_POINT.includes(type);
  if (fixed) char = fixedPointRegex(width, m.precision);
  if ((type === "s" || type === "") && m.align?.endsWith("="))
    throw invalidSpec(spec);
  const multiple = ALLOW_MULTIPLE.includes(type);
  if (multiple && (width === undefined || width === "0")) return `${char}*?`;
  if (width === undefined || width === "0") return char;
  if (fill === undefined) return fixed ? char : `${char}{${Number(width)}}`;
  return `${ANY}{${Number(width)}}`;
}

function fieldRegex(
  field: FieldToken,
  seen: Map<string, CompiledField>,
): string {
  if (!IDENTIFIER.test(field.name)) {
    throw new PatternError(
      `Field '{${field.raw}}' cannot be parsed: its name must be an identifier`,
    );
  }
  if (field.conversion !== null) {
    throw new PatternError(
      `Field '{${field.raw}}' cannot be parsed: conversions (!${field.conversion}) only apply to compose`,
    );
  }
  if (field.spec.includes("{"))
    throw new PatternError(
      `Nested field in the spec of '{${field.raw}}' cannot be parsed`,
    );
  const prev = seen.get(field.name);
  if (prev !== undefined) {
    if (prev.spec !== field.spec) {
      throw new PatternError(
        `Can't specify the same field_name with different formats: ${field.name}`,
      );
    }
    return `\\k<${prev.group}>`;
  }
  const group = `f${seen.size}`;
  seen.set(field.name, { name: field.name, spec: field.spec, group });
  const spec = field.spec;
  const body =
    spec === ""
      ? `${ANY}*?`
      : spec.includes("%")
        ? datetimeRegex(spec)
        : specRegex(spec);
  return `(?<${group}>${body})`;
}

function build(pattern: string): CompiledPattern {
  const seen = new Map<string, CompiledField>();
  let source = "";
  for (const { literal, field } of tokenize(pattern)) {
    source += escapeRegex(literal);
    if (field !== null) source += fieldRegex(field, seen);
  }
  try {
    return {
      pattern,
      full: new RegExp(`^(?:${source})(?=\\n?$)`, "u"),
      prefix: new RegExp(`^(?:${source})`, "u"),
      fields: [...seen.values()],
    };
  } catch (err) {
    throw new PatternError(
      `Pattern '${pattern}' gives an invalid regex: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * The compiled form of a pattern, from a bounded LRU cache.
 * @throws PatternError when the pattern is invalid.
 */
export function compilePattern(pattern: string): CompiledPattern {
  const hit = CACHE.get(pattern);
  if (hit !== undefined) {
    CACHE.delete(pattern);
    CACHE.set(pattern, hit);
    return hit;
  }
  const compiled = build(pattern);
  if (CACHE.size >= PATTERN_CACHE_SIZE)
    CACHE.delete(CACHE.keys().next().value as string);
  CACHE.set(pattern, compiled);
  return compiled;
}

/** Whether a compiled pattern is in the cache (for tests and diagnostics). */
export function isPatternCached(pattern: string): boolean {
  return CACHE.has(pattern);
}

function stripPadding(spec: string, text: string): string {
  const m = matchLooseSpec(spec);
  const align = m.align?.slice(-1);
  let fill = m.fill;
  if (align === undefined || !"<>^".includes(align)) return text;
  fill ??= " ";
  let start = 0;
  let end = text.length;
  if (align !== "<") while (text.startsWith(fill, start)) start += fill.length;
  if (align !== ">")
    while (end > start && text.endsWith(fill, end)) end -= fill.length;
  return text.slice(start, end);
}

function intSyntax(digit: string, prefix: string | undefined): RegExp {
  return new RegExp(
    `^([+-]?)(?:${prefix ?? "(?!)"}_?)?(${digit}(?:_?${digit})*)$`,
  );
}

/** Python's `int(text, base)` syntax, after stripping whitespace: sign, prefix, digits and `_`. */
const INT_SYNTAX: Readonly<Record<number, RegExp>> = {
  2: intSyntax("[01]", "0[bB]"),
  8: intSyntax("[0-7]", "0[oO]"),
  10: intSyntax("\\d", undefined),
  16: intSyntax("[\\dA-Fa-f]", "0[xX]"),
};

/** Python's `int(text, base)`. */
function pyInt(text: string, base: 2 | 8 | 10 | 16): number {
  const m = (INT_SYNTAX[base] as RegExp).exec(text.trim());
  if (m === null)
    throw new PatternError(
      `invalid literal for int() with base ${base}: '${text}'`,
    );
  const value = Number.parseInt((m[2] as string).replace(/_/g, ""), base);
  return m[1] === "-" && value !== 0 ? -value : value;
}

const FLOAT_SYNTAX =
  /^[+-]?(?:(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?|inf|infinity|nan)$/i;

/** Python's `float(text)`. */
function pyFloat(text: string): number {
  const t = text.trim();
  if (!FLOAT_SYNTAX.test(t))
    throw new PatternError(`could not convert string to float: '${text}'`);
  const lower = t.toLowerCase();
  if (lower.includes("nan")) return Number.NaN;
  if (lower.includes("inf"))
    return lower.startsWith("-") ? -Infinity : Infinity;
  return Number(t.replace(/_/g, ""));
}

/** trollsift's `_convert`: the field's text to a value, by its spec. */
function convertText(spec: string, text: string): ParsedValue {
  if (spec.includes("%")) return strptime(text, spec);
  const s = stripPadding(spec, text);
  if (spec.includes("d")) return pyInt(s, 10);
  if (spec.includes("x") || spec.includes("X")) return pyInt(s, 16);
  if (spec.includes("o")) return pyInt(s, 8);
  if (spec.includes("b")) return pyInt(s, 2);
  if (/[feEg]/.test(spec)) return new PyFloat(pyFloat(s));
  return s;
}

/**
 * Extract the fields of `input` with a trollsift pattern. Datetime fields
 * become naive `DateTime`s (aware with `%z`), integer specs numbers, float
 * specs `PyFloat`s, and other fields strings with their padding stripped.
 * @throws PatternError when the pattern is invalid or the input does not match.
 */
export function parse(
  pattern: string,
  input: string,
  opts: ParseOptions = {},
): Record<string, ParsedValue> {
  const compiled = compilePattern(pattern);
  const m = (opts.fullMatch === false ? compiled.prefix : compiled.full).exec(
    input,
  );
  if (m === null) throw new PatternError("String does not match pattern.");
  const groups = m.groups ?? {};
  return Object.fromEntries(
    compiled.fields.map((f) => [
      f.name,
      convertText(f.spec, groups[f.group] ?? ""),
    ]),
  );
}

/** Whether `input` parses with `pattern` (false for an invalid pattern too, as trollsift). */
export function validate(pattern: string, input: string): boolean {
  try {
    parse(pattern, input);
    return true;
  } catch (err) {
    if (err instanceof PatternError) return false;
    throw err;
  }
}
