import assert from "node:assert/strict";
import { test } from "node:test";
import { PatternError } from "../../../src/errors.js";
import { globify } from "../../../src/pattern/index.js";
import { DateTime } from "../../../src/util/datetime.js";
import { decodeRecord, vectors } from "./vectors.js";

// Expected globs were checked against trollsift 0.5.0.

test("pattern/globify - every trollsift 0.5.0 globify vector", () => {
  const cases = vectors().globify;
  assert.ok(cases.length >= 9);
  for (const c of cases)
    assert.equal(globify(c.pattern, decodeRecord(c.fixed)), c.glob, c.pattern);
});

test("pattern/globify - fields become * or ? by spec", () => {
  assert.equal(globify("{a}"), "*");
  assert.equal(globify("{a:%Y%m%d_%H}"), "????????_??");
  assert.equal(globify("{a:%j}{b:%a%p}"), "???**");
  assert.equal(
    globify("{a:5.3f}|{b:_<12s}|{c:>010d}|{d:s}"),
    "?????|????????????|??????????|*",
  );
});

test("pattern/globify - literal text, glob characters and escaped braces stay", () => {
  assert.equal(globify("hrpt_*_{t:%Y}_?.l1b"), "hrpt_*_????_?.l1b");
  assert.equal(globify("{{x}}_{a}"), "{x}_*");
});

test("pattern/globify - fixed values are formatted as compose does", () => {
  assert.equal(globify("{a:03d}_{b}", { a: 7, b: "q" }), "007_q");
  const t = new DateTime({ year: 2024, month: 11, day: 22, hour: 12 });
  assert.equal(globify("{t:%Y%m%d_%H}_{x}", { t }), "20241122_12_*");
  assert.equal(globify("{p!u}_{x}", { p: "noaa19" }), "NOAA19_*");
});

test("pattern/globify - a [datetime, codes] pair fixes only those codes", () => {
  const t = new DateTime({ year: 2024, month: 11, day: 22, hour: 12 });
  assert.equal(globify("{a:%Y%m%d_%H}", { a: [t, "Ym"] }), "202411??_??");
  assert.equal(
    globify("{a:%Y%m%d}", { a: [t, "Ymd"] }),
    "20241122",
    "trollsift 0.5 returns ?×20241122 here",
  );
});

test("pattern/globify - a zero width gives * where trollsift crashes", () => {
  assert.equal(globify("{a:0d}_{b:00d}"), "*_*");
});

test("pattern/globify - invalid patterns throw PatternError", () => {
  assert.throws(() => globify("{a"), PatternError);
  assert.throws(() => globify("a}"), PatternError);
  assert.throws(() => globify("{a:x}", { a: "s" }), PatternError);
});
