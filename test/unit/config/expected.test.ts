import assert from "node:assert/strict";
import { test } from "node:test";
import {
  loadConfig,
  type ClientChainConfig,
} from "../../../src/config/index.js";
import { ConfigError } from "../../../src/errors.js";

const BASE =
  "providers = rx1:9010\ndestination = file:///data/out/\ntopic = /t\n";

function chain(body: string): ClientChainConfig {
  const [only] = loadConfig(`[hrit]\n${BASE}${body}`, "client", "c.ini").chains;
  assert.ok(only);
  return only;
}

function rejects(body: string, option: string, pattern: RegExp): void {
  assert.throws(
    () => chain(body),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.option, option);
      assert.match(err.message, pattern);
      assert.match(err.message, /c\.ini/);
      return true;
    },
  );
}

test("config/expected - HRIT segments by the clock", () => {
  const c = chain(
    "expect_every = 15m\nexpect_files = channel=IR_108,VIS006 segment=1..8,PRO,EPI\nexpect_late = 20m\n",
  );
  assert.deepEqual(c.expected, {
    every: 900,
    key: ["nominal_time", "start_time"],
    files: [
      ["channel", ["IR_108", "VIS006"]],
      ["segment", ["1", "2", "3", "4", "5", "6", "7", "8", "PRO", "EPI"]],
    ],
    late: 1200,
  });
  assert.deepEqual(
    c.metadataRewrites,
    [],
    "expect_* are options, not metadata rewrites",
  );
});

test("config/expected - polar passes keyed by orbit, late defaults to 30 min", () => {
  const c = chain(
    "expect_every = pass\nexpect_key = orbit_number\nexpect_files = platform_name=NOAA-19 band=1..5\n",
  );
  assert.deepEqual(c.expected, {
    every: "pass",
    key: ["orbit_number"],
    files: [
      ["platform_name", ["NOAA-19"]],
      ["band", ["1", "2", "3", "4", "5"]],
    ],
    late: 1800,
  });
});

test("config/expected - durations: seconds, units, combinations; the default late is one slot", () => {
  assert.equal(
    chain("expect_every = 1h30m\nexpect_files = a=x\n").expected?.every,
    5400,
  );
  assert.equal(
    chain("expect_every = 900\nexpect_files = a=x\n").expected?.late,
    900,
  );
  assert.equal(
    chain("expect_every = 90s\nexpect_files = a=x\nexpect_late = 2.5m\n")
      .expected?.late,
    150,
  );
});

test("config/expected - leading zeros and _ padding compare equal (segment 000001___ is 1)", () => {
  assert.deepEqual(
    chain("expect_every = 15m\nexpect_files = segment=000001___,_PRO\n")
      .expected?.files,
    [["segment", ["1", "PRO"]]],
  );
});

test("config/expected - bad values name the option", () => {
  rejects(
    "expect_files = band=1..3\n",
    "expect_every",
    /needed with expect_files/,
  );
  rejects(
    "expect_every = soon\nexpect_files = band=1\n",
    "expect_every",
    /not a duration/,
  );
  rejects(
    "expect_every = 15m\nexpect_files = band\n",
    "expect_files",
    /not field=values/,
  );
  rejects(
    "expect_every = 15m\nexpect_files = band=9..3\n",
    "expect_files",
    /bad range/,
  );
  rejects(
    "expect_every = 15m\nexpect_files = a=1..1000 b=1..1000\n",
    "expect_files",
    /at most/,
  );
  rejects("expect_every = 15m\n", "expect_every", /needs expect_files/);
  rejects("alert_url = gopher://x/y\n", "alert_url", /http/);
  rejects(
    "alert_url = http://127.0.0.1:1/x\nalert_provider_down = never\n",
    "alert_provider_down",
    /not a duration/,
  );
});

test("config/expected - alerts", () => {
  assert.deepEqual(
    chain("alert_url = https://hooks.example.org/T0/B0\n").alerts,
    { url: "https://hooks.example.org/T0/B0", providerDown: 300 },
  );
  assert.equal(chain("").alerts, undefined);
});
