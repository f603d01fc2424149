import assert from "node:assert/strict";
import { test } from "node:test";
import { strftime } from "../../../src/pattern/strftime.js";
import { DateTime } from "../../../src/util/datetime.js";

// Expected strings below come from CPython 3.11 on glibc (C locale).
const D = new DateTime({
  year: 2024,
  month: 1,
  day: 2,
  hour: 3,
  minute: 4,
  second: 5,
  microsecond: 6,
});

test("pattern/strftime - numeric and name codes", () => {
  assert.equal(
    strftime(D, "%Y-%m-%d %H:%M:%S.%f"),
    "2024-01-02 03:04:05.000006",
  );
  assert.equal(
    strftime(D, "%y %j %a %A %b %B %w %U %W"),
    "24 002 Tue Tuesday Jan January 2 00 01",
  );
  assert.equal(strftime(D, "%I %p"), "03 AM");
  const pm = new DateTime({ year: 2024, month: 11, day: 22, hour: 15 });
  assert.equal(strftime(pm, "%I %p %U %W %j"), "03 PM 46 47 327");
});

test("pattern/strftime - locale composites, %% and unknown codes", () => {
  assert.equal(strftime(D, "%c"), "Tue Jan  2 03:04:05 2024");
  assert.equal(strftime(D, "%x|%X"), "01/02/24|03:04:05");
  assert.equal(strftime(D, "100%%"), "100%");
  assert.equal(strftime(D, "%Q|%"), "%Q|%");
});

test("pattern/strftime - glibc extras and flags", () => {
  assert.equal(strftime(D, "%e|%-d|%_H|%^a|%G-%V|%u"), " 2|2| 3|TUE|2024-01|2");
  assert.equal(strftime(D, "%F %T"), "2024-01-02 03:04:05");
});

test("pattern/strftime - %z and %Z are empty for naive values and set for aware ones", () => {
  assert.equal(strftime(D, "[%z][%Z]"), "[][]");
  const utc = new DateTime({
    year: 2024,
    month: 11,
    day: 22,
    hour: 12,
    offsetMinutes: 0,
  });
  assert.equal(strftime(utc, "%z %Z"), "+0000 UTC");
  const ist = new DateTime({
    year: 2024,
    month: 11,
    day: 22,
    hour: 12,
    offsetMinutes: 330,
  });
  assert.equal(strftime(ist, "%z %Z"), "+0530 UTC+05:30");
});

test("pattern/strftime - a JS Date is taken as naive UTC", () => {
  assert.equal(
    strftime(
      new Date(Date.UTC(2024, 10, 22, 12, 1, 2, 345)),
      "%Y%m%d%H%M%S.%f",
    ),
    "20241122120102.345000",
  );
});
