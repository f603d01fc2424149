/** The trollsift 0.5.0 vectors of test/fixtures/patterns.json, decoded. */
import { DateTime } from "../../../src/util/datetime.js";
import { PyFloat } from "../../../src/util/pyfloat.js";
import { readFixture } from "../../helpers/fixtures.js";

export interface ParseVector {
  pattern: string;
  string: string;
  result?: Record<string, unknown>;
  error?: string;
}
export interface GlobifyVector {
  pattern: string;
  fixed: Record<string, unknown>;
  glob: string;
}
export interface ComposeVector {
  pattern: string;
  data: Record<string, unknown>;
  string: string;
}
export interface ValidateVector {
  pattern: string;
  string: string;
  valid: boolean;
}

interface Vectors {
  generator: string;
  parse: ParseVector[];
  globify: GlobifyVector[];
  compose: ComposeVector[];
  validate: ValidateVector[];
}

let cached: Vectors | undefined;

/** All vectors, read once. */
export function vectors(): Vectors {
  cached ??= JSON.parse(readFixture("patterns.json")) as Vectors;
  return cached;
}

/** `{"$datetime": iso}` → naive DateTime, `{"$float": "3.14"}` → PyFloat; others unchanged. */
export function decodeValue(v: unknown): unknown {
  if (v === null || typeof v !== "object") return v;
  if ("$datetime" in v) {
    const dt = DateTime.parseIso(String(v.$datetime));
    if (dt === undefined || !dt.naive)
      throw new Error(`bad $datetime ${String(v.$datetime)}`);
    return dt;
  }
  if ("$float" in v) return new PyFloat(Number(v.$float));
  return v;
}

export function decodeRecord(
  r: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(r).map(([k, v]) => [k, decodeValue(v)]),
  );
}

/** A comparable view of a parsed value: DateTime by isoformat and naivety, PyFloat tagged. */
export function describe(v: unknown): unknown {
  if (v instanceof DateTime) return { datetime: v.isoformat(), naive: v.naive };
  if (v instanceof PyFloat) return { float: v.value };
  return v;
}

export function describeRecord(
  r: Record<string, unknown>,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(r).map(([k, v]) => [k, describe(v)]),
  );
}
