import assert from "node:assert/strict";
import { test } from "node:test";
import { ExpectedTracker } from "../../../src/observe/expected.js";
import { DateTime } from "../../../src/util/datetime.js";

const T = (hhmm: string, ss = "00"): number =>
  Date.parse(`2026-12-01T${hhmm}:${ss}Z`);
const hrit = (hhmm: string, channel: string, segment: string) => ({
  channel,
  segment,
  nominal_time: DateTime.fromDate(new Date(T(hhmm))),
  platform_name: "MSG4",
});

test("observe/expected - clock slots: on time, missing at the deadline, late afterwards", () => {
  // Segments 1-3 of two channels every 15 min, deadline 20 min after the slot time.
  const tr = new ExpectedTracker(
    {
      every: 900,
      key: ["nominal_time"],
      files: [
        ["channel", ["IR_108", "VIS006"]],
        ["segment", ["1", "2", "3"]],
      ],
      late: 1200,
    },
    T("11:58"),
  );
  assert.equal(tr.perSlot, 6);
  // Slot 11:45 began before tracking: not judged.
  assert.deepEqual(tr.add(hrit("11:45", "IR_108", "000001___"), T("11:59")), {
    kind: "ignored",
  });
  for (const ch of ["IR_108", "VIS006"])
    for (const seg of ["000001___", "000002___", "000003___"]) {
      if (ch === "VIS006" && seg === "000003___") continue;
      assert.deepEqual(tr.add(hrit("12:00", ch, seg), T("12:13")), {
        kind: "on_time",
      });
    }
  assert.deepEqual(
    tr.add(hrit("12:00", "HRV", "000001___"), T("12:13")),
    { kind: "ignored" },
    "not an expected channel",
  );
  assert.deepEqual(tr.openSlots(), [
    {
      slot: "2026-12-01T12:00:00Z",
      closesAt: T("12:20"),
      received: 5,
      expected: 6,
    },
  ]);
  assert.deepEqual(tr.tick(T("12:19", "59")), []);
  const closed = tr.tick(T("12:20"));
  assert.deepEqual(
    closed.map((s) => [s.slot, s.missing]),
    [["2026-12-01T12:00:00Z", ["channel=VIS006 segment=3"]]],
  );
  // The missing segment turns up: late, and struck off the list.
  assert.deepEqual(tr.add(hrit("12:00", "VIS006", "000003___"), T("12:24")), {
    kind: "late",
    slot: "2026-12-01T12:00:00Z",
  });
  assert.deepEqual(tr.incomplete[0]?.missing, []);
  // Nothing at all for 12:15: all six missing when it closes, once.
  const empty = tr.tick(T("12:40"));
  assert.deepEqual(
    empty.map((s) => [s.slot, s.missing.length]),
    [["2026-12-01T12:15:00Z", 6]],
  );
  assert.deepEqual(tr.tick(T("12:40")), []);
});

test("observe/expected - a complete slot closes silently", () => {
  const tr = new ExpectedTracker(
    {
      every: 900,
      key: ["start_time"],
      files: [["segment", ["1", "2"]]],
      late: 600,
    },
    T("12:00"),
  );
  const file = (seg: string) => ({
    segment: seg,
    start_time: DateTime.fromDate(new Date(T("12:05"))),
  });
  tr.add(file("1"), T("12:06"));
  tr.add(file("2"), T("12:07"));
  assert.deepEqual(tr.tick(T("12:10")), []);
  assert.deepEqual(tr.incomplete, []);
});

test("observe/expected - passes open with their first file and close `late` after it", () => {
  const tr = new ExpectedTracker(
    {
      every: "pass",
      key: ["orbit_number"],
      files: [["band", ["1", "2", "3"]]],
      late: 600,
    },
    T("12:00"),
  );
  assert.deepEqual(tr.add({ orbit_number: 4711, band: 1 }, T("12:30")), {
    kind: "on_time",
  });
  tr.add({ orbit_number: 4711, band: 2 }, T("12:31"));
  assert.deepEqual(
    tr.add({ orbit_number: 4711 }, T("12:31")),
    { kind: "ignored" },
    "no band: not an expected file",
  );
  assert.deepEqual(tr.tick(T("12:39")), []);
  assert.deepEqual(
    tr.tick(T("12:40")).map((s) => [s.slot, s.missing]),
    [["4711", ["band=3"]]],
  );
  assert.deepEqual(tr.add({ orbit_number: 4711, band: 3 }, T("12:45")), {
    kind: "late",
    slot: "4711",
  });
  // A new pass starts its own slot.
  assert.deepEqual(tr.add({ orbit_number: 4712, band: 3 }, T("14:10")), {
    kind: "on_time",
  });
  assert.equal(tr.openSlots()[0]?.slot, "4712");
});
