/**
 * The trollsift-compatible pattern engine: `parse` file names into fields,
 * `compose` fields into names, `globify` a pattern for directory scans and
 * `validate` names against a pattern.
 */
import type { DateTime } from "../util/datetime.js";
import type { PyFloat } from "../util/pyfloat.js";

/** A value a pattern field can hold. */
export type PatternValue =
  string | number | bigint | PyFloat | DateTime | Date | boolean;

/** Field values for `compose`/`globify`: PatternValues, and anything else (formatted with Python's `str`). */
export type PatternData = Record<string, unknown>;

export { parse, validate } from "./parse.js";
export type { ParsedValue, ParseOptions } from "./parse.js";
export { compose } from "./compose.js";
export type { ComposeOptions } from "./compose.js";
export { globify } from "./globify.js";

import { tokenize } from "./format-spec.js";
import { compilePattern } from "./parse.js";

/**
 * Throw the PatternError a pattern would give when used: `parse` patterns
 * (watched origins) must compile to a matcher; `compose` patterns
 * (destinations) must have balanced, well-formed fields.
 */
export function checkPattern(pattern: string, use: "parse" | "compose"): void {
  if (use === "parse") compilePattern(pattern);
  else tokenize(pattern);
}
