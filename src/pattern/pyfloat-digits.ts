/**
 * Decimal digits of a double for Python's float presentation types, taken
 * from the exact binary value and rounded half to even (as CPython's dtoa
 * does), so `format(2.5, '.0f')` is `2` and `format(0.125, '.2f')` is `0.12`.
 */

/** The exact value of a finite non-negative double as `n / 10**scale`. */
function exact(a: number): { n: bigint; scale: number } {
  if (a === 0) return { n: 0n, scale: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  let exp = -1074;
  if (biased !== 0) {
    mantissa |= 1n << 52n;
    exp = biased - 1075;
  }
  if (exp >= 0) return { n: mantissa << BigInt(exp), scale: 0 };
  return { n: mantissa * 5n ** BigInt(-exp), scale: -exp };
}

/** `n / 10**drop` rounded half to even (a negative `drop` multiplies). */
function roundDrop(n: bigint, drop: number): bigint {
  if (drop <= 0) return n * 10n ** BigInt(-drop);
  const d = 10n ** BigInt(drop);
  const q = n / d;
  const twice = 2n * (n % d);
  return twice > d || (twice === d && q % 2n === 1n) ? q + 1n : q;
}

/** `p` significant digits (p >= 1) and the decimal exponent of the first. */
function significant(a: number, p: number): { digits: string; exp: number } {
  if (a === 0) return { digits: "0".repeat(p), exp: 0 };
  const { n, scale } = exact(a);
  const length = n.toString().length;
  let exp = length - 1 - scale;
  let digits = roundDrop(n, length - p).toString();
  if (digits.length > p) {
    digits = digits.slice(0, p);
    exp += 1;
  }
  return { digits, exp };
}

function exponent(exp: number, e: string): string {
  const abs = Math.abs(exp);
  return `${e}${exp < 0 ? "-" : "+"}${abs < 10 ? "0" : ""}${abs}`;
}

/** Python's `'f'`: `p` digits after the point. */
export function fixedDigits(a: number, p: number, alternate: boolean): string {
  const { n, scale } = exact(a);
  const q = roundDrop(n, scale - p)
    .toString()
    .padStart(p + 1, "0");
  const int = q.slice(0, q.length - p);
  if (p > 0) return `${int}.${q.slice(q.length - p)}`;
  return alternate ? `${int}.` : int;
}

/** Python's `'e'`/`'E'`: one digit, `p` decimals, a two-digit exponent at least. */
export function scientificDigits(
  a: number,
  p: number,
  alternate: boolean,
  type: string,
): string {
  const { digits, exp } = significant(a, p + 1);
  const point = p > 0 ? `.${digits.slice(1)}` : alternate ? "." : "";
  return `${digits[0]}${point}${exponent(exp, type === "E" ? "E" : "e")}`;
}

/**
 * Python's `'g'` with precision `p`; with `addDot0` it is the no-type form
 * with a precision (scientific from exponent p-1, `.0` kept on integers).
 */
export function generalDigits(
  a: number,
  p: number,
  alternate: boolean,
  addDot0: boolean,
  e: string,
): string {
  const prec = p === 0 ? 1 : p;
  const sig = significant(a, prec);
  const digits = alternate ? sig.digits : sig.digits.replace(/0+$/, "") || "0";
  const decpt = sig.exp + 1;
  if (decpt <= -4 || decpt > (addDot0 ? prec - 1 : prec)) {
    const point =
      digits.length > 1 ? `.${digits.slice(1)}` : alternate ? "." : "";
    return `${digits[0]}${point}${exponent(sig.exp, e)}`;
  }
  const int = decpt > 0 ? digits.slice(0, decpt).padEnd(decpt, "0") : "0";
  const frac = decpt > 0 ? digits.slice(decpt) : "0".repeat(-decpt) + digits;
  if (frac !== "") return `${int}.${frac}`;
  return alternate ? `${int}.` : addDot0 ? `${int}.0` : int;
}
