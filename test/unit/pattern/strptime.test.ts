import assert from "node:assert/strict";
import { test } from "node:test";
import { PatternError } from "../../../src/errors.js";
import { strptime } from "../../../src/pattern/strptime.js";

// Expected values below come from CPython 3.11 (C locale).
function iso(text: string, fmt: string): string {
  return strptime(text, fmt).isoformat();
}

test("pattern/strptime - full datetimes are naive", () => {
  const dt = strptime("20241122120000", "%Y%m%d%H%M%S");
  assert.equal(dt.isoformat(), "2024-11-22T12:00:00");
  assert.equal(dt.naive, true);
  assert.equal(iso("2024112", "%Y%m%d"), "2024-11-02T00:00:00");
});

test("pattern/strptime - %f takes 1 to 6 digits, more is unconverted data", () => {
  assert.equal(iso("1200001", "%H%M%S%f"), "1900-01-01T12:00:00.100000");
  assert.equal(iso("12000001", "%H%M%S%f"), "1900-01-01T12:00:00.010000");
  assert.equal(iso("120000123456", "%H%M%S%f"), "1900-01-01T12:00:00.123456");
  assert.throws(
    () => strptime("1200000123456", "%H%M%S%f"),
    /unconverted data remains: 6/,
  );
});

test("pattern/strptime - two-digit years pivot at 69", () => {
  assert.equal(iso("68", "%y"), "2068-01-01T00:00:00");
  assert.equal(iso("69", "%y"), "1969-01-01T00:00:00");
});

test("pattern/strptime - %I with and without %p", () => {
  assert.equal(iso("12 AM", "%I %p"), "1900-01-01T00:00:00");
  assert.equal(iso("12 pm", "%I %p"), "1900-01-01T12:00:00");
  assert.equal(iso("3 PM", "%I %p"), "1900-01-01T15:00:00");
  assert.equal(iso("12", "%I"), "1900-01-01T00:00:00");
});

test("pattern/strptime - day of year and week numbers", () => {
  assert.equal(iso("2024327", "%Y%j"), "2024-11-22T00:00:00");
  assert.equal(
    iso("2023366", "%Y%j"),
    "2024-01-01T00:00:00",
    "like Python, %j is not checked against the year",
  );
  assert.equal(iso("2024 47 5", "%Y %W %w"), "2024-11-22T00:00:00");
  assert.equal(iso("2024 47 5", "%Y %U %w"), "2024-11-29T00:00:00");
  assert.equal(iso("2024 0 Mon", "%Y %W %a"), "2024-01-01T00:00:00");
});

test("pattern/strptime - names and literals match case-insensitively, whitespace matches runs", () => {
  assert.equal(
    iso("Friday 22 NOVEMBER 2024", "%A %d %B %Y"),
    "2024-11-22T00:00:00",
  );
  assert.equal(iso("2024-11-22t12", "%Y-%m-%dT%H"), "2024-11-22T12:00:00");
  assert.equal(iso("2024  \t 11", "%Y %m"), "2024-11-01T00:00:00");
  assert.equal(iso("Tue Jan  2 03:04:05 2024", "%c"), "2024-01-02T03:04:05");
  assert.equal(iso(" 5", "%d"), "1900-01-05T00:00:00");
});

test("pattern/strptime - %z makes an aware datetime", () => {
  assert.equal(strptime("2024+0130", "%Y%z").offsetMinutes, 90);
  assert.equal(strptime("2024-05:30", "%Y%z").offsetMinutes, -330);
  assert.equal(strptime("2024Z", "%Y%z").offsetMinutes, 0);
  assert.throws(() => strptime("2024z", "%Y%z"), /does not match format/);
  assert.equal(
    strptime("2024 UTC", "%Y %Z").naive,
    true,
    "%Z alone leaves the value naive",
  );
});

test("pattern/strptime - invalid dates and formats throw PatternError", () => {
  assert.throws(() => strptime("20230229", "%Y%m%d"), PatternError);
  assert.throws(
    () => strptime("0229", "%m%d"),
    PatternError,
    "Feb 29 without a year is checked in 1900",
  );
  assert.throws(() => strptime("23:59:60", "%X"), PatternError);
  assert.throws(
    () => strptime("20241322", "%Y%m%d"),
    /unconverted data remains: 22/,
    "%m backtracks to '1'",
  );
  assert.throws(
    () => strptime("2024-11", "%Y%m"),
    /time data '2024-11' does not match format '%Y%m'/,
  );
  assert.throws(() => strptime("2024", "%Y%"), /stray %/);
  assert.throws(() => strptime("2024", "%Q"), /'Q' is a bad directive/);
  assert.throws(() => strptime("20242024", "%Y%Y"), /redefinition/);
});
