import assert from "node:assert/strict";
import { test } from "node:test";
import { PatternError } from "../../../src/errors.js";
import { parse, validate } from "../../../src/pattern/index.js";
import {
  compilePattern,
  isPatternCached,
  PATTERN_CACHE_SIZE,
} from "../../../src/pattern/parse.js";
import { DateTime } from "../../../src/util/datetime.js";
import { PyFloat } from "../../../src/util/pyfloat.js";
import { decodeRecord, describeRecord, vectors } from "./vectors.js";

// Expected values in the focused tests were checked against trollsift 0.5.0.

test("pattern/parse - every trollsift 0.5.0 parse vector", () => {
  const cases = vectors().parse;
  assert.ok(cases.length >= 16);
  for (const c of cases) {
    const what = `${c.pattern} <- ${c.string}`;
    if (c.error !== undefined) {
      assert.throws(() => parse(c.pattern, c.string), PatternError, what);
      continue;
    }
    const got = parse(c.pattern, c.string);
    assert.deepEqual(
      describeRecord(got),
      describeRecord(decodeRecord(c.result ?? {})),
      what,
    );
    assert.deepEqual(
      Object.keys(got),
      Object.keys(c.result ?? {}),
      `${what}: key order`,
    );
  }
});

test("pattern/parse - every trollsift 0.5.0 validate vector", () => {
  for (const c of vectors().validate) {
    assert.equal(
      validate(c.pattern, c.string),
      c.valid,
      `${c.pattern} <- ${c.string}`,
    );
  }
});

test("pattern/parse - value types: naive DateTime, number, PyFloat, string", () => {
  const r = parse("{t:%Y%m%d}_{n:03d}_{f:.1f}_{s}", "20241122_007_2.5_abc");
  assert.ok(r.t instanceof DateTime && r.t.naive);
  assert.equal(r.n, 7);
  assert.ok(r.f instanceof PyFloat);
  assert.equal(r.f.value, 2.5);
  assert.equal(r.s, "abc");
});

test("pattern/parse - the 7-digit %f case: the regex matches but strptime fails", () => {
  const p =
    "SVMC_{platform_name:3s}_d{start_time:%Y%m%d_t%H%M%S%f}_e{end_time:%H%M%S%f}_b{orbit:5d}.h5";
  assert.throws(
    () =>
      parse(p, "SVMC_npp_d20241122_t1200000123456_e1201239876543_b67890.h5"),
    /unconverted data remains/,
  );
  const ok = parse(
    p,
    "SVMC_npp_d20241122_t120000012345_e120123987654_b67890.h5",
  );
  assert.equal((ok.start_time as DateTime).microsecond, 12345);
});

test("pattern/parse - a repeated field must match the same text", () => {
  assert.deepEqual(parse("{a:2d}{a:2d}", "1212"), { a: 12 });
  assert.throws(
    () => parse("{a:2d}{a:2d}", "1213"),
    /String does not match pattern/,
  );
  assert.deepEqual(parse("{a}.{b}.{a}", "x.y.x"), { a: "x", b: "y" });
  assert.equal(validate("{a}.{b}.{a}", "x.y.z"), false);
  assert.throws(
    () => parse("{a:d}_{a:s}", "1_1"),
    /same field_name with different formats: a/,
  );
});

test("pattern/parse - {{ and }} are literal braces and regex characters are literal", () => {
  assert.deepEqual(parse("{{literal}}_{a}", "{literal}_x"), { a: "x" });
  const p = "a.b*c?d+e(f)[g]^$|h\\i/j {x}";
  assert.deepEqual(parse(p, "a.b*c?d+e(f)[g]^$|h\\i/j y"), { x: "y" });
  assert.equal(validate(p, "aXb*c?d+e(f)[g]^$|h\\i/j y"), false);
});

test("pattern/parse - padding is stripped by alignment and fill", () => {
  assert.deepEqual(parse("{a:_<6s}", "a_b___"), { a: "a_b" });
  assert.deepEqual(parse("{a:*^7s}", "*m*i*d*"), { a: "m*i*d" });
  assert.deepEqual(parse("{a:>5}", "  abc"), { a: "abc" });
  assert.deepEqual(parse("{a:0>5d}", "00042"), { a: 42 });
  assert.deepEqual(parse("{a:5d}", "  -12"), { a: -12 });
});

test("pattern/parse - integers by spec letter: d, x/X, o, b, with Python's int() syntax", () => {
  assert.deepEqual(parse("{a:x}", "0xff"), { a: 255 });
  assert.deepEqual(parse("{a:X}_{b:o}_{c:b}", "FF_17_101"), {
    a: 255,
    b: 15,
    c: 5,
  });
  assert.deepEqual(parse("{a:4b}", "0b10"), { a: 2 });
  assert.deepEqual(parse("{a:5d}", "1_234"), { a: 1234 });
  assert.throws(() => parse("{a:d}", ""), /invalid literal for int\(\)/);
});

test("pattern/parse - fixed-point specs use trollsift's width/precision regex", () => {
  assert.equal((parse("{a:5.1f}", "123.4").a as PyFloat).value, 123.4);
  assert.equal(
    validate("{a:6.2e}", "1.5e10"),
    false,
    "exactly two decimals are required",
  );
  assert.equal(validate("{a:f}", "inf"), false);
  assert.equal(parse("{v:.2f}{w:3d}", "3.14  5").w, 5);
});

test("pattern/parse - widths, c and untyped specs", () => {
  assert.deepEqual(parse("{a:c}{b:c}", "xy"), { a: "", b: "xy" });
  assert.deepEqual(parse("{a:3c}{b}", "abcdef"), { a: "abc", b: "def" });
  assert.equal(validate("{a:5}", "ab"), false);
  assert.equal(
    validate("{a:=5s}", "abcde"),
    false,
    "'=' is invalid for strings",
  );
  assert.throws(
    () => parse("{a:n}", "5"),
    PatternError,
    "types trollsift has no regex for",
  );
});

test("pattern/parse - datetime fields: names ignore case, %I with %p, %z is aware", () => {
  assert.equal(
    (parse("{t:%b %d %Y}", "nov 22 2024").t as DateTime).isoformat(),
    "2024-11-22T00:00:00",
  );
  assert.equal((parse("{t:%I%p}", "03pm").t as DateTime).hour, 15);
  assert.equal(
    (parse("{t:%Y%m%d_%H%M%S.%f}", "20241122_120000.123").t as DateTime)
      .microsecond,
    123000,
  );
  assert.equal(
    (parse("{t:%Y%m%dT%H%M%S%z}", "20241122T120000+0100").t as DateTime)
      .offsetMinutes,
    60,
  );
  assert.equal(
    validate("{t:%Y.%m}", "2024x11"),
    false,
    "literal text in a datetime spec is literal",
  );
});

test("pattern/parse - fullMatch false matches a prefix only", () => {
  assert.deepEqual(parse("{a}_{b}", "x_y_z", { fullMatch: false }), {
    a: "x",
    b: "",
  });
  assert.deepEqual(parse("{a:2d}", "123", { fullMatch: false }), { a: 12 });
  assert.throws(() => parse("{a:2d}", "123"), /String does not match pattern/);
  assert.equal(
    (parse("{t:%Y%m%d}", "20241122abc", { fullMatch: false }).t as DateTime)
      .day,
    22,
  );
});

test("pattern/parse - like Python's $, one trailing newline is allowed", () => {
  assert.deepEqual(parse("{a}", "x\n"), { a: "x" });
  assert.equal(validate("{a:3s}", "ab\n"), false);
  assert.equal(validate("{a}", "x\n\n"), false);
});

test("pattern/parse - invalid patterns throw PatternError and do not validate", () => {
  for (const p of ["{a", "a}", "{}", "{0}", "{a.b}", "{a!u}", "{a:{b}}"]) {
    assert.throws(() => parse(p, "x"), PatternError, p);
    assert.equal(validate(p, "x"), false, p);
  }
});

test("pattern/parse - compiled patterns are cached in a bounded LRU", () => {
  const p = "cache-{a}-{b:03d}.dat";
  const first = compilePattern(p);
  assert.equal(compilePattern(p), first);
  assert.deepEqual(parse(p, "cache-x-001.dat"), { a: "x", b: 1 });
  for (let i = 0; i < PATTERN_CACHE_SIZE - 1; i++)
    compilePattern(`lru-${i}-{x}`);
  assert.ok(isPatternCached(p), "still one of the most recent entries");
  compilePattern(p);
  for (let i = 0; i < PATTERN_CACHE_SIZE; i++) compilePattern(`lru2-${i}-{x}`);
  assert.equal(
    isPatternCached(p),
    false,
    "evicted after PATTERN_CACHE_SIZE newer patterns",
  );
  assert.notEqual(compilePattern(p), first);
});

test("pattern/parse - %% in a datetime spec matches a literal percent", () => {
  assert.equal((parse("{t:%Y%%}", "2024%").t as DateTime).year, 2024);
});
