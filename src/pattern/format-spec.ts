/**
 * Python format-string syntax: splitting a pattern into literal text and
 * replacement fields (`string.Formatter.parse`), and reading a format spec
 * (`[[fill]align][sign][z][#][0][width][grouping][.precision][type]`).
 */
import { PatternError } from "../errors.js";

/** A replacement field `{name!conversion:spec}`. */
export interface FieldToken {
  /** The field name, `""` for `{}`. */
  readonly name: string;
  /** The conversion character after `!`, or null. */
  readonly conversion: string | null;
  /** The format spec after `:`, `""` when absent. */
  readonly spec: string;
  /** The text between the braces, as written. */
  readonly raw: string;
}

/** One tuple of `string.Formatter.parse`: literal text, then an optional field. */
export interface PatternToken {
  /** Literal text with `{{`/`}}` already unescaped. */
  readonly literal: string;
  readonly field: FieldToken | null;
}

export type Align = "<" | ">" | "=" | "^";

/** A format spec as Python's `format()` reads it. */
export interface FormatSpec {
  /** The fill character when one was written before the alignment. */
  readonly fill: string | undefined;
  readonly align: Align | undefined;
  readonly sign: "+" | "-" | " " | undefined;
  /** `z`: coerce negative zero to positive (floats only). */
  readonly coerceZero: boolean;
  /** `#`: alternate form. */
  readonly alternate: boolean;
  /** A `0` before the width (zero padding). */
  readonly zeroPad: boolean;
  readonly width: number | undefined;
  readonly grouping: "," | "_" | undefined;
  readonly precision: number | undefined;
  readonly type: string | undefined;
}

/** The groups of trollsift's loose spec regex; missing groups are undefined, `type` may be `""`. */
export interface LooseSpec {
  readonly align: string | undefined;
  readonly fill: string | undefined;
  readonly sign: string | undefined;
  readonly pound: string | undefined;
  readonly zero: string | undefined;
  readonly width: string | undefined;
  readonly comma: string | undefined;
  readonly precision: string | undefined;
  readonly type: string;
}

const ALIGNS = "<>=^";

/** Index of the `}` closing the field opened just before `from`. */
function fieldEnd(pattern: string, from: number): number {
  let depth = 1;
  for (let i = from; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return i;
  }
  throw new PatternError("expected '}' before end of string");
}

/** Split the text between braces into name, conversion and spec. */
export function parseFieldText(raw: string): FieldToken {
  let k = 0;
  let stop = "";
  while (k < raw.length) {
    const c = raw[k++] as string;
    if (c === "{") throw new PatternError("unexpected '{' in field name");
    if (c === "[") {
      while (k < raw.length && raw[k] !== "]") k++;
    } else if (c === ":" || c === "!" || c === "}") {
      stop = c;
      break;
    }
  }
  const name = raw.slice(0, stop === "" ? k : k - 1);
  let conversion: string | null = null;
  if (stop === "!") {
    if (k >= raw.length)
      throw new PatternError(
        "end of string while looking for conversion specifier",
      );
    conversion = raw[k++] as string;
    if (k < raw.length && raw[k++] !== ":")
      throw new PatternError("expected ':' after conversion specifier");
  }
  const spec = stop === "" ? "" : raw.slice(k);
  return { name, conversion, spec, raw };
}

/**
 * Split a pattern like Python's `string.Formatter.parse`: each token is the
 * literal text before a field and that field (null for trailing text and
 * for the chunk that ends at an escaped `{{` or `}}`).
 * @throws PatternError on a single `{` or `}` or an unclosed field.
 */
export function tokenize(pattern: string): PatternToken[] {
  const tokens: PatternToken[] = [];
  let pos = 0;
  while (pos < pattern.length) {
    let i = pos;
    while (i < pattern.length && pattern[i] !== "{" && pattern[i] !== "}") i++;
    if (i >= pattern.length) {
      tokens.push({ literal: pattern.slice(pos), field: null });
      break;
    }
    const c = pattern[i];
    if (pattern[i + 1] === c) {
      tokens.push({ literal: pattern.slice(pos, i + 1), field: null });
      pos = i + 2;
      continue;
    }
    if (c === "}")
      throw new PatternError("Single '}' encountered in format string");
    if (i + 1 >= pattern.length)
      throw new PatternError("Single '{' encountered in format string");
    const end = fieldEnd(pattern, i + 1);
    tokens.push({
      literal: pattern.slice(pos, i),
      field: parseFieldText(pattern.slice(i + 1, end)),
    });
    pos = end + 1;
  }
  return tokens;
}

/** Reads a spec left to right, one optional part at a time. */
class SpecReader {
  private pos = 0;
  constructor(private readonly chars: string[]) {}

  get rest(): string {
    return this.chars.slice(this.pos).join("");
  }

  peek(offset = 0): string | undefined {
    return this.chars[this.pos + offset];
  }

  take(allowed: string): string | undefined {
    const c = this.peek();
    if (c === undefined || !allowed.includes(c)) return undefined;
    this.pos++;
    return c;
  }

  digits(): string {
    let out = "";
    for (
      let c = this.peek();
      c !== undefined && c >= "0" && c <= "9";
      c = this.peek()
    ) {
      out += c;
      this.pos++;
    }
    return out;
  }
}

function invalidSpec(spec: string): PatternError {
  return new PatternError(`Invalid format specifier '${spec}'`);
}

/** Optional fill and alignment at the start of a spec. */
function readAlign(r: SpecReader): {
  fill: string | undefined;
  align: Align | undefined;
} {
  const second = r.peek(1);
  if (second !== undefined && ALIGNS.includes(second)) {
    const fill = r.peek() as string;
    r.take(fill);
    r.take(second);
    return { fill, align: second as Align };
  }
  return { fill: undefined, align: r.take(ALIGNS) as Align | undefined };
}

/**
 * Parse a format spec with Python's rules (`format()` / `str.format`).
 * @throws PatternError for anything Python rejects while parsing the spec.
 */
export function parseFormatSpec(spec: string): FormatSpec {
  const r = new SpecReader([...spec]);
  const { fill, align } = readAlign(r);
  const sign = r.take("+- ") as FormatSpec["sign"];
  const coerceZero = r.take("z") !== undefined;
  const alternate = r.take("#") !== undefined;
  const zeroPad =
    fill === undefined && r.peek() === "0" && r.take("0") !== undefined;
  const widthText = r.digits();
  const grouping = r.take(",_") as FormatSpec["grouping"];
  if (
    grouping !== undefined &&
    r.peek() !== undefined &&
    ",_".includes(r.peek() as string)
  ) {
    throw new PatternError("Cannot specify both ',' and '_'.");
  }
  let precision: number | undefined;
  if (r.take(".") !== undefined) {
    const p = r.digits();
    if (p === "") throw new PatternError("Format specifier missing precision");
    precision = Number(p);
  }
  const rest = r.rest;
  if ([...rest].length > 1) throw invalidSpec(spec);
  const width = widthText === "" ? undefined : Number(widthText);
  const type = rest === "" ? undefined : rest;
  return {
    fill,
    align,
    sign,
    coerceZero,
    alternate,
    zeroPad,
    width,
    grouping,
    precision,
    type,
  };
}

const LOOSE_SPEC_RE =
  /^(?<align>(?<fill>[^\n])?[<>=^])?(?<sign>[+\-\s])?(?<pound>#)?(?<zero>0)?(?<width>\d+)?(?<comma>,)?(?<precision>[^\n]\d+)?(?<type>[bcdeEfFgGnosxX%]?)/u;

/**
 * Read a spec with trollsift's loose spec regex. It is anchored at the
 * start only (Python's `re.match`) and every part is optional, so it
 * always matches; `type` is `""` when no type letter follows.
 */
export function matchLooseSpec(spec: string): LooseSpec {
  const g = LOOSE_SPEC_RE.exec(spec)?.groups ?? {};
  return {
    align: g.align,
    fill: g.fill,
    sign: g.sign,
    pound: g.pound,
    zero: g.zero,
    width: g.width,
    comma: g.comma,
    precision: g.precision,
    type: g.type ?? "",
  };
}

/** trollsift's DT_FMT: the glob each strftime code turns into (keys without `%`). */
export const DT_GLOBS: Readonly<Record<string, string>> = {
  a: "*",
  A: "*",
  w: "?",
  d: "??",
  b: "*",
  B: "*",
  m: "??",
  y: "??",
  Y: "????",
  H: "??",
  I: "??",
  p: "*",
  M: "??",
  S: "??",
  f: "*",
  z: "*",
  Z: "*",
  j: "???",
  U: "??",
  W: "??",
  c: "*",
  x: "*",
  X: "*",
  "%": "?",
};

/** A piece of a datetime spec: a DT_GLOBS code, or literal text (unknown codes included). */
export type DateSpecPart =
  { readonly code: string } | { readonly text: string };

/** Split a datetime spec such as `%Y%m%d_%H%M` into codes and literal text, left to right. */
export function splitDateSpec(spec: string): DateSpecPart[] {
  const parts: DateSpecPart[] = [];
  let text = "";
  for (let i = 0; i < spec.length; i++) {
    const code = spec[i + 1];
    if (
      spec[i] === "%" &&
      code !== undefined &&
      Object.hasOwn(DT_GLOBS, code)
    ) {
      if (text !== "") parts.push({ text });
      text = "";
      parts.push({ code });
      i++;
    } else {
      text += spec[i];
    }
  }
  if (text !== "") parts.push({ text });
  return parts;
}
