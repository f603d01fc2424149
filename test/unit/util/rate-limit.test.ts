import assert from "node:assert/strict";
import { test } from "node:test";
import { RateLimiter } from "../../../src/util/rate-limit.js";
import { rateLimitedLogger } from "../../../src/log.js";
import { captureLogger } from "../../helpers/log.js";

test("util/rate-limit - lets burst events through per key, counts the rest, summarises at window end", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const summaries: [string, number, number][] = [];
  const rl = new RateLimiter<number>(
    (key, n, last) => summaries.push([key, n, last]),
    { burst: 3, windowMs: 1000 },
  );
  const passed = Array.from({ length: 10 }, (_, i) => rl.allow("a", i)).filter(
    Boolean,
  ).length;
  assert.equal(passed, 3);
  assert.equal(rl.allow("b", 100), true, "another key has its own budget");
  assert.deepEqual(summaries, []);
  t.mock.timers.tick(999);
  assert.deepEqual(summaries, []);
  t.mock.timers.tick(1);
  assert.deepEqual(
    summaries,
    [["a", 7, 9]],
    "b suppressed nothing, so no summary for it",
  );
  assert.equal(rl.suppressed, 7);
  assert.equal(rl.keys, 0);
  assert.equal(
    rl.allow("a", 11),
    true,
    "a new window starts with a fresh budget",
  );
  rl.close();
});

test("util/rate-limit - close() writes pending summaries; the oldest key yields past maxKeys", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const summaries: string[] = [];
  const rl = new RateLimiter<string>(
    (key, n) => summaries.push(`${key}:${n}`),
    { burst: 1, maxKeys: 2 },
  );
  rl.allow("a", "x");
  rl.allow("a", "x");
  rl.allow("b", "x");
  rl.allow("c", "x"); // a's window ends early
  assert.deepEqual(summaries, ["a:1"]);
  assert.equal(rl.keys, 2);
  rl.allow("c", "x");
  rl.close();
  assert.deepEqual(summaries, ["a:1", "c:1"]);
  assert.equal(rl.keys, 0);
  rl.close();
});

test("util/rate-limit - bad options are refused", () => {
  assert.throws(
    () => new RateLimiter(() => undefined, { burst: 0 }),
    /burst must be a positive number, got 0/,
  );
  assert.throws(
    () => new RateLimiter(() => undefined, { windowMs: Number.NaN }),
    /windowMs/,
  );
});

test("log - rateLimitedLogger writes burst records, then one summary with the suppressed count", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { log, records } = captureLogger();
  const limited = rateLimitedLogger(log, { burst: 2, windowMs: 5000 });
  for (let i = 0; i < 1000; i++)
    limited.warn("bad frame:peer1", { peer: "peer1", i }, "malformed request");
  limited.error("other", { peer: "peer2" }, "request failed");
  assert.equal(records.length, 3);
  t.mock.timers.tick(5000);
  assert.equal(records.length, 4);
  const summary = records[3]!;
  assert.equal(summary.msg, "malformed request");
  assert.equal(summary.level, 40);
  assert.equal(summary["suppressed"], 998);
  assert.equal(summary["i"], 999, "fields of the last record held back");
  assert.equal(summary["rateKey"], "bad frame:peer1");
  assert.equal(summary["windowMs"], 5000);
  assert.equal(limited.suppressed, 998);
  limited.close();
  assert.equal(records.length, 4);
});
