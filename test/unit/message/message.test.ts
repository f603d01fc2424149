import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { MessageDecodeError } from "../../../src/errors.js";
import {
  Message,
  VERSION_AWARE,
  VERSION_NAIVE,
} from "../../../src/message/index.js";
import { DateTime } from "../../../src/util/datetime.js";
import { PyFloat } from "../../../src/util/pyfloat.js";
import { capture, captureFrames } from "../../helpers/fixtures.js";

test("message - every captured frame round-trips byte for byte", () => {
  const frames = captureFrames();
  assert.ok(
    frames.length >= 40,
    `expected the capture file's frames, got ${frames.length}`,
  );
  for (const { id, line } of frames) {
    const msg = Message.decode(Buffer.from(line, "utf8"));
    assert.equal(msg.encode(), line, `capture ${id}`);
  }
});

test("message - decodes the header fields of A2", () => {
  const [line] = capture("A2");
  const msg = Message.decode(line!);
  assert.equal(msg.subject, "/ref/test");
  assert.equal(msg.type, "file");
  assert.equal(msg.sender, "root@vm");
  assert.equal(msg.user, "root");
  assert.equal(msg.host, "vm");
  assert.equal(msg.version, "v1.01");
  assert.equal(msg.time.isoformat(), "2026-11-22T03:18:07.284115");
  assert.equal(msg.time.naive, true);
  assert.deepEqual(Object.keys(msg.dataObject), [
    "sensor",
    "variant",
    "name",
    "uri",
    "uid",
    "request_address",
  ]);
});

test("message - a datetime in data stays naive and the header is aware (A3)", () => {
  const msg = Message.decode(capture("A3")[0]!);
  const start = msg.dataObject["start_time"];
  assert.ok(start instanceof DateTime);
  assert.equal(start.naive, true);
  assert.equal(start.isoformat(), "2024-01-02T03:04:05");
  assert.equal(msg.time.naive, false);
  assert.equal(msg.version, "v1.2");
});

test("message - a new message picks v1.2 only when its data holds a datetime", () => {
  const plain = new Message("/a", "file", { uid: "x" }, { sender: "u@h" });
  assert.equal(plain.version, VERSION_NAIVE);
  assert.match(
    plain.encode(),
    /^pytroll:\/\/a file u@h \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})? v1\.01 application\/json \{"uid": "x"\}$/,
  );
  const dt = new DateTime({
    year: 2024,
    month: 1,
    day: 2,
    hour: 3,
    minute: 4,
    second: 5,
  });
  const aware = new Message(
    "/a",
    "file",
    { start_time: dt },
    { sender: "u@h" },
  );
  assert.equal(aware.version, VERSION_AWARE);
  assert.match(
    aware.encode(),
    /\+00:00 v1\.2 application\/json \{"start_time": "2024-01-02T03:04:05"\}$/,
  );
});

test("message - re-encoding a decoded message rebuilt from its parts gives the capture (C6 pong)", () => {
  const [, pong] = capture("C6");
  const orig = Message.decode(pong!);
  const rebuilt = new Message(
    orig.subject,
    "pong",
    { station: "refstation" },
    { sender: "root@vm", time: orig.time },
  );
  assert.equal(rebuilt.encode(), pong);
});

test("message - text/ascii data is the rest of the frame (C8)", () => {
  const [, err] = capture("C8");
  const msg = Message.decode(err!);
  assert.equal(msg.type, "err");
  assert.equal(msg.data, "/etc/passwd not reachable");
});

test("message - a frame with no data part has undefined data (C12)", () => {
  const msg = Message.decode(capture("C12")[1]!);
  assert.equal(msg.type, "unknown");
  assert.equal(msg.data, undefined);
});

test("message - Python's JSON forms: floats, big ints, NaN, non-ASCII, integer keys", () => {
  const line =
    'pytroll://x file u@h 2024-01-01T00:00:00 v1.01 application/json {"f": 3.0, "g": 1e-05, "h": 12345678901234567890, "n": NaN, "s": "\\u00e9\\ud83d\\ude00\\n", "m": {"2": 1, "1": 2}}';
  const msg = Message.decode(line);
  const d = msg.dataObject;
  assert.ok(d["f"] instanceof PyFloat);
  assert.equal(d["h"], 12345678901234567890n);
  assert.equal(d["s"], "é😀\n");
  assert.equal(msg.encode(), line);
});

test("message - builds python-identical JSON for new data", () => {
  const msg = new Message(
    "/t",
    "file",
    { a: 1.5, b: new PyFloat(2), c: [1, "ü", null, true], d: { e: 1e16 } },
    {
      sender: "u@h",
      time: new DateTime({ year: 2024, month: 1, day: 1 }),
    },
  );
  assert.equal(
    msg.encode(),
    'pytroll://t file u@h 2024-01-01T00:00:00 v1.01 application/json {"a": 1.5, "b": 2.0, "c": [1, "\\u00fc", null, true], "d": {"e": 10000000000000000}}',
  );
});

test("message - empty data is written as no data, as posttroll does", () => {
  const msg = new Message(
    "/t",
    "ping",
    {},
    { sender: "u@h", time: new DateTime({ year: 2024, month: 1, day: 1 }) },
  );
  assert.equal(msg.encode(), "pytroll://t ping u@h 2024-01-01T00:00:00 v1.01");
});

const BAD_FRAMES: [string, string | Uint8Array][] = [
  ["C13's plain text", "hello"],
  ["empty", ""],
  ["magic only", "pytroll://"],
  ["too few fields", "pytroll://a b c d"],
  ["bad version", "pytroll://a b c 2024-01-01T00:00:00 v9.9"],
  ["bad time", "pytroll://a b c yesterday v1.01"],
  ["bad mime", "pytroll://a b c 2024-01-01T00:00:00 v1.01 text/html <b>"],
  [
    "bad json",
    'pytroll://a b c 2024-01-01T00:00:00 v1.01 application/json {"a": }',
  ],
  [
    "trailing json",
    "pytroll://a b c 2024-01-01T00:00:00 v1.01 application/json {} {}",
  ],
  [
    "deep json",
    `pytroll://a b c 2024-01-01T00:00:00 v1.01 application/json ${"[".repeat(100000)}`,
  ],
  ["not utf-8", new Uint8Array([0xff, 0xfe, 0x00, 0x80])],
];

for (const [name, frame] of BAD_FRAMES) {
  test(`message - ${name} is a MessageDecodeError`, () => {
    assert.throws(() => Message.decode(frame), MessageDecodeError);
  });
}

/** Decoding must either succeed or throw MessageDecodeError: nothing else, ever. */
function decodeOrTypedError(frame: Uint8Array | string): void {
  try {
    Message.decode(frame);
  } catch (err) {
    if (!(err instanceof MessageDecodeError)) throw err;
  }
}

test("message - fuzz: random bytes, truncations and mutations only raise MessageDecodeError", () => {
  const seeds = captureFrames().map((c) => c.line);
  for (let i = 0; i < 3000; i++) decodeOrTypedError(randomBytes(i % 300));
  for (const line of seeds) {
    for (let cut = 0; cut <= line.length; cut += 3)
      decodeOrTypedError(line.slice(0, cut));
    const bytes = Buffer.from(line);
    for (let j = 0; j < 200; j++) {
      const copy = Buffer.from(bytes);
      copy[Math.floor(Math.random() * copy.length)] = Math.floor(
        Math.random() * 256,
      );
      decodeOrTypedError(copy);
    }
  }
});

test("message - fuzz: huge frames decode or fail fast with the typed error", () => {
  const big = "x".repeat(32 * 1024 * 1024);
  decodeOrTypedError(
    `pytroll://a b c 2024-01-01T00:00:00 v1.01 text/ascii ${big}`,
  );
  decodeOrTypedError(
    `pytroll://a b c 2024-01-01T00:00:00 v1.01 application/json "${big}`,
  );
  decodeOrTypedError(
    `pytroll://a b c 2024-01-01T00:00:00 v1.01 application/json {"k": "${big}"}`,
  );
  const msg = Message.decode(
    `pytroll://a b c 2024-01-01T00:00:00 v1.01 application/json ["${big}"]`,
  );
  assert.equal((msg.data as string[])[0]!.length, big.length);
});
