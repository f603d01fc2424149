import assert from "node:assert/strict";
import { test } from "node:test";
import { PatternError } from "../../../src/errors.js";
import {
  matchLooseSpec,
  parseFieldText,
  parseFormatSpec,
  splitDateSpec,
  tokenize,
} from "../../../src/pattern/format-spec.js";

/** Tokens as Python's `string.Formatter.parse` tuples. */
function tuples(
  pattern: string,
): Array<[string, string | null, string | null, string | null]> {
  return tokenize(pattern).map((t) => [
    t.literal,
    t.field?.name ?? null,
    t.field?.spec ?? null,
    t.field?.conversion ?? null,
  ]);
}

test("pattern/format-spec - tokenize splits literals and fields like Formatter.parse", () => {
  assert.deepEqual(tuples("a{b}c{d:05d}"), [
    ["a", "b", "", null],
    ["c", "d", "05d", null],
  ]);
  assert.deepEqual(tuples("{x!u:>5}tail"), [
    ["", "x", ">5", "u"],
    ["tail", null, null, null],
  ]);
  assert.deepEqual(tuples(""), []);
});

test("pattern/format-spec - tokenize unescapes {{ and }} as separate chunks", () => {
  assert.deepEqual(tuples("a{{b}}c"), [
    ["a{", null, null, null],
    ["b}", null, null, null],
    ["c", null, null, null],
  ]);
  assert.deepEqual(tuples("{{{x}}}"), [
    ["{", null, null, null],
    ["", "x", "", null],
    ["}", null, null, null],
  ]);
});

test("pattern/format-spec - tokenize keeps nested braces in the spec and brackets in names", () => {
  assert.deepEqual(tuples("{a:{w}d}"), [["", "a", "{w}d", null]]);
  assert.deepEqual(tuples("{a[:]}"), [["", "a[:]", "", null]]);
  assert.equal(tokenize("{a!r:x}")[0]?.field?.raw, "a!r:x");
});

test("pattern/format-spec - tokenize rejects unbalanced braces", () => {
  assert.throws(() => tokenize("a}b"), PatternError);
  assert.throws(() => tokenize("a{"), PatternError);
  assert.throws(() => tokenize("{a"), /expected '}' before end of string/);
  assert.throws(() => tokenize("{a{b}}"), /unexpected '{' in field name/);
  assert.throws(() => tokenize("{a!}"), /conversion specifier/);
  assert.throws(
    () => tokenize("{a!rx}"),
    /expected ':' after conversion specifier/,
  );
});

test("pattern/format-spec - parseFieldText without a spec or conversion", () => {
  assert.deepEqual(parseFieldText("name"), {
    name: "name",
    conversion: null,
    spec: "",
    raw: "name",
  });
  assert.deepEqual(parseFieldText(""), {
    name: "",
    conversion: null,
    spec: "",
    raw: "",
  });
});

test("pattern/format-spec - parseFormatSpec reads every part", () => {
  assert.deepEqual(parseFormatSpec("*^+#012,.3f"), {
    fill: "*",
    align: "^",
    sign: "+",
    coerceZero: false,
    alternate: true,
    zeroPad: false,
    width: 12,
    grouping: ",",
    precision: 3,
    type: "f",
  });
  const zero = parseFormatSpec("05d");
  assert.equal(zero.zeroPad, true);
  assert.equal(zero.width, 5);
  assert.equal(zero.fill, undefined);
  const aligned = parseFormatSpec("<05d");
  assert.equal(aligned.zeroPad, true);
  assert.equal(aligned.align, "<");
  const filled = parseFormatSpec("x<05d");
  assert.equal(
    filled.zeroPad,
    false,
    "after an explicit fill the 0 is part of the width",
  );
  assert.equal(filled.width, 5);
  assert.equal(parseFormatSpec("z_.2e").coerceZero, true);
  assert.equal(parseFormatSpec("").type, undefined);
  assert.equal(parseFormatSpec("%").type, "%");
});

test("pattern/format-spec - parseFormatSpec rejects what Python rejects", () => {
  assert.throws(() => parseFormatSpec(".f"), /missing precision/);
  assert.throws(() => parseFormatSpec("dd"), /Invalid format specifier/);
  assert.throws(() => parseFormatSpec(",_d"), /both/);
  assert.throws(() => parseFormatSpec("%Y"), PatternError);
});

test("pattern/format-spec - matchLooseSpec reads a spec the way trollsift does", () => {
  const s = matchLooseSpec("_<6s");
  assert.equal(s.fill, "_");
  assert.equal(s.align, "_<");
  assert.equal(s.width, "6");
  assert.equal(s.type, "s");
  const z = matchLooseSpec("05d");
  assert.equal(z.zero, "0");
  assert.equal(z.width, "5");
  assert.equal(matchLooseSpec("5.1f").precision, ".1");
  assert.equal(matchLooseSpec(">5").type, "", "the type is optional");
  assert.equal(matchLooseSpec("foo").type, "f", "anchored at the start only");
  assert.equal(
    matchLooseSpec("qux").type,
    "",
    "every part is optional, so it always matches",
  );
});

test("pattern/format-spec - splitDateSpec separates strftime codes from literal text", () => {
  assert.deepEqual(splitDateSpec("%Y%m%d_t%H%%x%e"), [
    { code: "Y" },
    { code: "m" },
    { code: "d" },
    { text: "_t" },
    { code: "H" },
    { code: "%" },
    { text: "x%e" },
  ]);
  assert.deepEqual(splitDateSpec("%"), [{ text: "%" }]);
});
