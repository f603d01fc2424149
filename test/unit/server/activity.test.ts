import assert from "node:assert/strict";
import { test } from "node:test";
import { ActivityLog } from "../../../src/server/activity.js";
import { newServerStats } from "../../../src/server/stats.js";
import { captureLogger } from "../../helpers/log.js";

test("activity: one info line with what happened since the last, none when nothing did", () => {
  const { log, records } = captureLogger();
  const stats = newServerStats();
  const activity = new ActivityLog(stats, log, 3_600_000);
  activity.start();
  stats.announced += 1000;
  stats.pushes += 998;
  stats.pushesFailed += 2;
  stats.bytesSent += 10_240_000;
  activity.stop();
  const lines = records.filter((r) => r.msg === "activity");
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 30);
  assert.deepEqual(
    {
      announced: lines[0]!["announced"],
      pushes: lines[0]!["pushes"],
      failedPushes: lines[0]!["failedPushes"],
      bytesSent: lines[0]!["bytesSent"],
    },
    { announced: 1000, pushes: 998, failedPushes: 2, bytesSent: 10_240_000 },
  );
  // Counted from the last line on: a quiet chain writes nothing.
  activity.stop();
  assert.equal(records.filter((r) => r.msg === "activity").length, 1);
});
