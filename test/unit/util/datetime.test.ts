import assert from "node:assert/strict";
import { test } from "node:test";
import {
  civilFromDays,
  daysFromCivil,
  daysInMonth,
  weekday,
} from "../../../src/util/datetime.js";

test("util/datetime - day numbers and dates round-trip", () => {
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  for (const days of [-719162, -1, 0, 59, 10957, 19684, 2932896]) {
    const c = civilFromDays(days);
    assert.equal(daysFromCivil(c.year, c.month, c.day), days);
  }
  assert.deepEqual(civilFromDays(daysFromCivil(2024, 2, 29)), {
    year: 2024,
    month: 2,
    day: 29,
  });
});

test("util/datetime - weekdays and month lengths", () => {
  assert.equal(weekday(1970, 1, 1), 3, "a Thursday");
  assert.equal(weekday(2024, 1, 1), 0, "a Monday");
  assert.deepEqual(
    [
      daysInMonth(2024, 2),
      daysInMonth(2023, 2),
      daysInMonth(1900, 2),
      daysInMonth(2000, 2),
      daysInMonth(2024, 13),
    ],
    [29, 28, 28, 29, 0],
  );
});
