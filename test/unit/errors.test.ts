import assert from "node:assert/strict";
import { test } from "node:test";
import * as errors from "../../src/errors.js";
import {
  BindError,
  ChecksumError,
  ClosedError,
  ConfigError,
  ConnectFailure,
  ErrorCode,
  LedgerError,
  MessageDecodeError,
  MessageEncodeError,
  MoveItError,
  PatternError,
  RefusedError,
  RemoteError,
  RequestTimeoutError,
  StepError,
  TransferError,
  UnpackError,
} from "../../src/errors.js";

const cause = new Error("underneath");
const cases: [MoveItError, string, string][] = [
  [new MoveItError("m"), "MoveItError", ErrorCode.GENERIC],
  [
    new ConfigError("m", {
      file: "f.ini",
      section: "s",
      option: "o",
      value: "v",
    }),
    "ConfigError",
    "EMOVEIT_CONFIG",
  ],
  [new MessageDecodeError("m"), "MessageDecodeError", "EMOVEIT_MESSAGE_DECODE"],
  [new MessageEncodeError("m"), "MessageEncodeError", "EMOVEIT_MESSAGE_ENCODE"],
  [new PatternError("m"), "PatternError", "EMOVEIT_PATTERN"],
  [
    new TransferError("m", { scheme: "ftp", destination: "ftp://h/x" }),
    "TransferError",
    "EMOVEIT_TRANSFER",
  ],
  [new StepError("m", { cause }), "StepError", "EMOVEIT_STEP"],
  [
    new ConnectFailure("m", true, { cause }),
    "ConnectFailure",
    "EMOVEIT_CONNECT",
  ],
  [
    new ChecksumError("m", "/in/a.dat", { cause }),
    "ChecksumError",
    "EMOVEIT_CHECKSUM",
  ],
  [
    new RequestTimeoutError("m"),
    "RequestTimeoutError",
    "EMOVEIT_REQUEST_TIMEOUT",
  ],
  [new RemoteError("m"), "RemoteError", "EMOVEIT_REMOTE"],
  [new ClosedError(), "ClosedError", "EMOVEIT_CLOSED"],
  [new RefusedError("m"), "RefusedError", "EMOVEIT_REFUSED"],
  [new UnpackError("m"), "UnpackError", "EMOVEIT_UNPACK"],
  [
    new BindError(
      "request_port 9201",
      "tcp://*:9201",
      Object.assign(new Error("in use"), { code: "EADDRINUSE" }),
    ),
    "BindError",
    "EMOVEIT_BIND",
  ],
  [
    new LedgerError("m", "/s/l.sqlite", ErrorCode.LEDGER_CORRUPT),
    "LedgerError",
    "EMOVEIT_LEDGER_CORRUPT",
  ],
];

test("errors - every class sets its name and a stable code, and is a MoveItError", () => {
  for (const [err, name, code] of cases) {
    assert.ok(err instanceof MoveItError, name);
    assert.equal(err.name, name);
    assert.equal(err.code, code, name);
  }
});

test("errors - every error class errors.ts exports is covered above", () => {
  const classes = Object.entries(errors).filter(
    ([, v]) =>
      typeof v === "function" &&
      (v as { prototype?: unknown }).prototype instanceof Error,
  );
  const named = new Set(cases.map(([, name]) => name));
  assert.deepEqual(
    classes.map(([k]) => k).filter((k) => !named.has(k)),
    [],
  );
});

test("errors - codes are distinct, and each class keeps its cause", () => {
  const codes = Object.values(ErrorCode);
  assert.equal(new Set(codes).size, codes.length);
  for (const err of [cases[6]![0], cases[7]![0], cases[8]![0]])
    assert.equal(err.cause, cause);
});

test("errors - ConnectFailure says whether the next host is worth trying", () => {
  assert.equal(
    new ConnectFailure("connection refused to h:21", true).unreachable,
    true,
  );
  assert.equal(
    new ConnectFailure("authentication failed for u@h:21", false).unreachable,
    false,
  );
});
