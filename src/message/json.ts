/**
 * JSON the way Python's `json` module writes and reads it, since posttroll
 * peers compare frames byte for byte: `", "`/`": "` separators, non-ASCII as
 * `\uXXXX`, `NaN`/`Infinity`, floats kept apart from ints, and key order kept
 * even for integer-like keys (which plain JS objects would reorder).
 */
import { MessageDecodeError, MessageEncodeError } from "../errors.js";
import { DateTime } from "../util/datetime.js";
import { PyFloat, pyFloatRepr } from "../util/pyfloat.js";

/** A value in message data. Objects whose keys JS would reorder are Maps. */
export type JsonValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | PyFloat
  | DateTime
  | Date
  | JsonValue[]
  | Map<string, JsonValue>
  | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

const MAX_DEPTH = 256;
const INDEX_KEY = /^(0|[1-9]\d{0,9})$/;
const NUMBER_RE = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const WS_RE = /[ \t\n\r]*/y;
const PLAIN_RUN_RE = /[^"\\\x00-\x1f]*/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  fail(what: string): never {
    throw new MessageDecodeError(
      `JSON decode failed: ${what} at char ${this.pos}`,
    );
  }

  ws(): void {
    WS_RE.lastIndex = this.pos;
    WS_RE.exec(this.text);
    this.pos = WS_RE.lastIndex;
  }

  document(): JsonValue {
    this.ws();
    const value = this.value(0, false);
    this.ws();
    if (this.pos !== this.text.length) this.fail("extra data");
    return value;
  }

  value(depth: number, inObject: boolean): JsonValue {
    if (depth > MAX_DEPTH) this.fail("nesting too deep");
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.object(depth + 1);
      case "[":
        return this.array(depth + 1, inObject);
      case '"': {
        const s = this.string();
        return inObject ? (DateTime.parseIso(s) ?? s) : s;
      }
      default:
        return this.literal();
    }
  }

  literal(): JsonValue {
    const t = this.text;
    for (const [word, value] of LITERALS) {
      if (t.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    NUMBER_RE.lastIndex = this.pos;
    const m = NUMBER_RE.exec(t);
    if (m === null) this.fail("expecting value");
    this.pos = NUMBER_RE.lastIndex;
    if (m[1] !== undefined || m[2] !== undefined)
      return new PyFloat(Number(m[0]));
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  }

  object(depth: number): JsonValue {
    this.pos++;
    const entries: [string, JsonValue][] = [];
    this.ws();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return {};
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"')
        this.fail("expecting property name enclosed in double quotes");
      const key = this.string();
      this.ws();
      if (this.text[this.pos] !== ":") this.fail("expecting ':' delimiter");
      this.pos++;
      this.ws();
      entries.push([key, this.value(depth, true)]);
      this.ws();
      const c = this.text[this.pos++];
      if (c === "}") break;
      if (c !== ",") this.fail("expecting ',' delimiter");
    }
    return toObject(entries);
  }

  array(depth: number, inObject: boolean): JsonValue {
    this.pos++;
    const out: JsonValue[] = [];
    this.ws();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth, inObject));
      this.ws();
      const c = this.text[this.pos++];
      if (c === "]") return out;
      if (c !== ",") this.fail("expecting ',' delimiter");
    }
  }

  string(): string {
    const t = this.text;
    let out = "";
    this.pos++;
    for (;;) {
      PLAIN_RUN_RE.lastIndex = this.pos;
      PLAIN_RUN_RE.exec(t);
      out += t.slice(this.pos, PLAIN_RUN_RE.lastIndex);
      this.pos = PLAIN_RUN_RE.lastIndex;
      const c = t[this.pos];
      if (c === '"') {
        this.pos++;
        return out;
      }
      if (c !== "\\")
        this.fail(
          c === undefined ? "unterminated string" : "invalid control character",
        );
      out += this.escape();
    }
  }

  escape(): string {
    const e = this.text[this.pos + 1];
    if (e === "u") {
      const hex = this.text.slice(this.pos + 2, this.pos + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\uXXXX escape");
      this.pos += 6;
      return String.fromCharCode(parseInt(hex, 16));
    }
    const mapped = e === undefined ? undefined : ESCAPES[e];
    if (mapped === undefined) this.fail("invalid \\escape");
    this.pos += 2;
    return mapped;
  }
}

const LITERALS: readonly (readonly [string, JsonValue])[] = [
  ["null", null],
  ["true", true],
  ["false", false],
  ["NaN", new PyFloat(NaN)],
  ["Infinity", new PyFloat(Infinity)],
  ["-Infinity", new PyFloat(-Infinity)],
];

function toObject(entries: [string, JsonValue][]): JsonValue {
  if (entries.some(([k]) => INDEX_KEY.test(k))) {
    // A later duplicate keeps the first position, as in a Python dict.
    return new Map(entries);
  }
  const obj: JsonObject = {};
  for (const [k, v] of entries) {
    if (k === "__proto__")
      Object.defineProperty(obj, k, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else obj[k] = v;
  }
  return obj;
}

/**
 * Parse JSON as `json.loads(text, object_hook=datetime_decoder)` does:
 * strings under an object that read as ISO datetimes become DateTime.
 * Throws MessageDecodeError, nothing else.
 */
export function parsePyJson(text: string): JsonValue {
  try {
    return new Parser(text).document();
  } catch (err) {
    if (err instanceof MessageDecodeError) throw err;
    throw new MessageDecodeError(
      `JSON decode failed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

const NEEDS_ESCAPE = /[\\"\x00-\x1f\x7f-\uffff]/;
const ESCAPE_ALL = /[\\"\x00-\x1f\x7f-\uffff]/g;
const SHORT_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function quote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return `"${s.replace(ESCAPE_ALL, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

function encodeNumber(n: number): string {
  if (Number.isInteger(n))
    return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
  return pyFloatRepr(n);
}

function encodeEntries(
  entries: Iterable<[string, unknown]>,
  depth: number,
): string {
  const parts: string[] = [];
  for (const [k, v] of entries) {
    if (v === undefined) continue;
    parts.push(`${quote(k)}: ${encodeValue(v, depth)}`);
  }
  return `{${parts.join(", ")}}`;
}

function encodeValue(v: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new MessageEncodeError("data nested too deeply");
  switch (typeof v) {
    case "string":
      return quote(v);
    case "number":
      return encodeNumber(v);
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
    case "undefined":
      return "null";
    case "object":
      return encodeObject(v, depth + 1);
    default:
      throw new MessageEncodeError(
        `data is not JSON serialisable: ${typeof v}`,
      );
  }
}

function encodeObject(v: object | null, depth: number): string {
  if (v === null) return "null";
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (v instanceof DateTime) return quote(v.toJSON());
  if (v instanceof Date) return quote(DateTime.fromDate(v).isoformat());
  if (Array.isArray(v))
    return `[${v.map((x) => encodeValue(x, depth)).join(", ")}]`;
  if (v instanceof Map) return encodeEntries(v as Map<string, unknown>, depth);
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    throw new MessageEncodeError(
      `data is not JSON serialisable: ${v.constructor.name}`,
    );
  }
  return encodeEntries(Object.entries(v), depth);
}

/** `json.dumps(value, default=datetime_encoder)` with Python's defaults. */
export function stringifyPyJson(value: unknown): string {
  return encodeValue(value, 0);
}

/** True if the value holds a datetime anywhere (posttroll then writes v1.2). */
export function containsDatetime(value: unknown, depth = 0): boolean {
  if (value instanceof DateTime || value instanceof Date) return true;
  if (value === null || typeof value !== "object" || depth > MAX_DEPTH)
    return false;
  if (value instanceof PyFloat) return false;
  const children = value instanceof Map ? value.values() : Object.values(value);
  for (const child of children)
    if (containsDatetime(child, depth + 1)) return true;
  return false;
}
