/**
 * trollsift's `globify`: a pattern to a shell glob, each unknown field
 * replaced by `*` or as many `?` as its width, fixed fields formatted in.
 */
import { DateTime } from "../util/datetime.js";
import { DT_GLOBS, splitDateSpec, tokenize } from "./format-spec.js";
import type { FieldToken } from "./format-spec.js";
import { formatField, lookupField } from "./compose.js";
import { strftime } from "./strftime.js";

/** Glob of a datetime spec: each code by its DT_GLOBS entry, other text as is. */
function datetimeGlob(spec: string): string {
  return splitDateSpec(spec)
    .map((part) =>
      "text" in part ? part.text : (DT_GLOBS[part.code] as string),
    )
    .join("");
}

/** Glob of a field with no value: `*`, datetime globs, or `?` × the first number. */
function specGlob(spec: string): string {
  if (spec === "") return "*";
  if (spec.includes("%")) return datetimeGlob(spec);
  const width = /[0-9]+/.exec(spec.replace(/^0+/, ""));
  return width === null || Number(width[0]) === 0
    ? "*"
    : "?".repeat(Number(width[0]));
}

/** A `[datetime, "YmdH"]` pair: those codes fixed from the datetime, the others globbed. */
function partialDate(value: unknown): [DateTime | Date, string] | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [dt, codes] = value as unknown[];
  if (
    !(dt instanceof DateTime || dt instanceof Date) ||
    typeof codes !== "string"
  )
    return undefined;
  return [dt, codes];
}

function fieldGlob(field: FieldToken, fixed: Record<string, unknown>): string {
  const lookup = lookupField(fixed, field.name);
  if (!lookup.found) return specGlob(field.spec);
  const partial = partialDate(lookup.value);
  if (partial === undefined)
    return formatField(lookup.value, field.conversion, field.spec);
  const [dt, codes] = partial;
  let spec = field.spec;
  for (const code of codes)
    spec = spec.replaceAll(`%${code}`, strftime(dt, `%${code}`));
  return field.spec.includes("%") ? datetimeGlob(spec) : specGlob(spec);
}

/**
 * A glob matching the files a pattern describes, like trollsift's
 * `globify`. Fields in `fixed` are formatted as `compose` would; a value
 * `[DateTime, "YmdH"]` fixes only those strftime codes of a datetime field.
 * Literal `*` and `?` in the pattern are kept.
 * @throws PatternError when the pattern or a fixed value's spec is invalid.
 */
export function globify(
  pattern: string,
  fixed: Record<string, unknown> = {},
): string {
  let out = "";
  for (const { literal, field } of tokenize(pattern)) {
    out += literal;
    if (field !== null) out += fieldGlob(field, fixed);
  }
  return out;
}
