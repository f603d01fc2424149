/**
 * trollsift's `compose`: Python `str.format` with keyword arguments, plus
 * trollsift's extra conversions (`!u` upper, `!l` lower, `!c` capitalize,
 * `!t` title, `!R` drop separators, `!h`/`!H` lower/upper without them).
 */
import { PatternError } from "../errors.js";
import { tokenize } from "./format-spec.js";
import type { FieldToken } from "./format-spec.js";
import { formatValue } from "./pyformat.js";
import { pyAscii, pyRepr, pyStr } from "./pyrepr.js";

/** Options of `compose`. */
export interface ComposeOptions {
  /** Leave fields whose key is missing as written (`{key:spec}`) instead of failing. */
  readonly allowPartial?: boolean;
}

/** A field's value, or `found: false` when its key is missing. */
export type Lookup =
  | { readonly found: true; readonly value: unknown }
  | { readonly found: false; readonly key: string };

function step(value: unknown, key: string): { ok: boolean; value: unknown } {
  if (value === null || value === undefined)
    return { ok: false, value: undefined };
  const index = /^\d+$/.test(key) && Array.isArray(value) ? Number(key) : key;
  const next: unknown = Reflect.get(Object(value), index);
  return { ok: next !== undefined, value: next };
}

/** Split `a.b[0]` into `a` and its accessors, as `str.format` does. */
function fieldPath(name: string): string[] {
  const first = /^[^.[]*/.exec(name)?.[0] ?? "";
  const path = [first];
  const rest = /\.([^.[]*)|\[([^\]]*)\]/gy;
  rest.lastIndex = first.length;
  for (let m = rest.exec(name); m !== null; m = rest.exec(name)) {
    const key = m[1] ?? m[2] ?? "";
    if (m[1] !== undefined && key === "")
      throw new PatternError("Empty attribute in format string");
    path.push(key);
    if (rest.lastIndex === name.length) return path;
  }
  if (path.length === 1 && first.length === name.length) return path;
  throw new PatternError(`Invalid field name '${name}' in format string`);
}

/**
 * Find the value of a field name (`key`, `key.attr`, `key[0]`) in the data.
 * A key that is absent or undefined is missing.
 */
export function lookupField(
  data: Record<string, unknown>,
  name: string,
): Lookup {
  const [key = "", ...path] = fieldPath(name);
  if (!Object.hasOwn(data, key) || data[key] === undefined)
    return { found: false, key };
  let value: unknown = data[key];
  for (const part of path) {
    const next = step(value, part);
    if (!next.ok)
      throw new PatternError(
        `Field '${name}': no '${part}' in the value of '${key}'`,
      );
    value = next.value;
  }
  return { found: true, value };
}

function asString(value: unknown, conversion: string): string {
  if (typeof value !== "string") {
    throw new PatternError(
      `Conversion '!${conversion}' needs a string, got ${pyRepr(value)}`,
    );
  }
  return value;
}

function title(s: string): string {
  let out = "";
  let prevCased = false;
  for (const ch of s) {
    const cased = ch.toLowerCase() !== ch.toUpperCase();
    out += cased ? (prevCased ? ch.toLowerCase() : ch.toUpperCase()) : ch;
    prevCased = cased;
  }
  return out;
}

function capitalize(s: string): string {
  const [first = "", ...rest] = [...s];
  return first.toUpperCase() + rest.join("").toLowerCase();
}

const SEPARATORS = /[-_: ]/g;

const STRING_CONVERSIONS: Readonly<Record<string, (s: string) => string>> = {
  c: capitalize,
  l: (s) => s.toLowerCase(),
  u: (s) => s.toUpperCase(),
  t: title,
  R: (s) => s.replace(SEPARATORS, ""),
  h: (s) => s.toLowerCase().replace(SEPARATORS, ""),
  H: (s) => s.toUpperCase().replace(SEPARATORS, ""),
};

/** Apply a `!conversion` (Python's s, r, a and trollsift's c l u t R h H). */
export function convertValue(
  value: unknown,
  conversion: string | null,
): unknown {
  if (conversion === null) return value;
  if (conversion === "s") return pyStr(value);
  if (conversion === "r") return pyRepr(value);
  if (conversion === "a") return pyAscii(value);
  const fn = STRING_CONVERSIONS[conversion];
  if (fn === undefined)
    throw new PatternError(`Unknown conversion specifier ${conversion}`);
  return fn(asString(value, conversion));
}

/** Format one present value for a field: conversion, then `format(value, spec)`. */
export function formatField(
  value: unknown,
  conversion: string | null,
  spec: string,
): string {
  return formatValue(convertValue(value, conversion), spec);
}

function renderField(
  field: FieldToken,
  data: Record<string, unknown>,
  partial: boolean,
  depth: number,
): string {
  const lookup = lookupField(data, field.name);
  if (!lookup.found) {
    if (partial) return `{${field.raw}}`;
    throw new PatternError(
      `Missing value for key '${lookup.key}' (field '{${field.raw}}')`,
    );
  }
  const spec = field.spec.includes("{")
    ? render(field.spec, data, partial, depth - 1)
    : field.spec;
  return formatField(lookup.value, field.conversion, spec);
}

function render(
  pattern: string,
  data: Record<string, unknown>,
  partial: boolean,
  depth: number,
): string {
  if (depth < 0) throw new PatternError("Max string recursion exceeded");
  let out = "";
  for (const { literal, field } of tokenize(pattern)) {
    out += literal;
    if (field !== null) out += renderField(field, data, partial, depth);
  }
  return out;
}

/**
 * Fill a pattern with values, like trollsift's `compose` (Python
 * `str.format(**data)`): `{t:%Y%m%d}` formats a `DateTime` or `Date` with
 * strftime, numeric specs take numbers, `PyFloat` and bigint.
 * @throws PatternError when a key is missing (unless `allowPartial`), a
 *   spec is invalid or does not suit the value.
 */
export function compose(
  pattern: string,
  data: Record<string, unknown>,
  opts: ComposeOptions = {},
): string {
  return render(pattern, data, opts.allowPartial === true, 2);
}
