/**
 * A Python float. JSON and JS numbers cannot tell `3` from `3.0`, but
 * Python peers write them differently, so decoded float literals (and float
 * fields parsed from patterns) are boxed to keep the distinction.
 */
export class PyFloat {
  constructor(readonly value: number) {
    Object.freeze(this);
  }

  valueOf(): number {
    return this.value;
  }

  /** Python's `repr(float)`. */
  toString(): string {
    return pyFloatRepr(this.value);
  }

  toJSON(): number {
    return this.value;
  }
}

/**
 * Python's `repr()` of a float: the shortest round-tripping digits, in
 * positional form when the decimal exponent is in [-4, 16), else scientific
 * with at least two exponent digits; always a `.0` or an exponent.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest round-trip digits.
  const [mant = "", expText = "0"] = Math.abs(x).toExponential().split("e");
  const digits = mant.replace(".", "");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${e < 10 ? "0" : ""}${e}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return `${sign}${intPart}.${frac === "" ? "0" : frac}`;
}
