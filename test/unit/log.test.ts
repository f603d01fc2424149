import assert from "node:assert/strict";
import { test } from "node:test";
import bunyan from "bunyan";
import { ConnectFailure, StepError, TransferError } from "../../src/errors.js";
import { createLogger, lazyChild, type LogRecord } from "../../src/log.js";
import { errorReplyText } from "../../src/server/request-server.js";

const SECRET = "pa55-w0rd";

function capture(): {
  log: ReturnType<typeof createLogger>;
  records: LogRecord[];
} {
  const records: LogRecord[] = [];
  return {
    log: createLogger({
      name: "log-test",
      level: "trace",
      sink: (r) => records.push(r),
    }),
    records,
  };
}

test("log - the serializer takes credentials out of an error's message, stack and causes", () => {
  const { log, records } = capture();
  const inner = new StepError(
    `upload to ftp://user:${SECRET}@ftp.example.org/in/ failed`,
  );
  const err = new TransferError(
    `cannot write sftp://root:${SECRET}@h/x`,
    { scheme: "sftp", destination: "sftp://h/x" },
    { cause: inner },
  );
  log.error({ err }, "push failed");
  const rec = records[0]!;
  assert.doesNotMatch(JSON.stringify(rec), new RegExp(SECRET));
  type Serialized = {
    message: string;
    name: string;
    code: string;
    stack: string;
    cause?: Serialized;
  };
  const e = rec["err"] as Serialized;
  assert.equal(e.message, "cannot write sftp://h/x");
  assert.equal(e.name, "TransferError");
  assert.equal(e.code, "EMOVEIT_TRANSFER");
  assert.equal(e.cause?.message, "upload to ftp://ftp.example.org/in/ failed");
  assert.equal(e.cause?.code, "EMOVEIT_STEP");
  assert.match(
    e.cause?.stack ?? "",
    /^StepError: upload to ftp:\/\/ftp\.example\.org\/in\/ failed/,
  );
});

test("log - URL fields and plain-text reasons lose their credentials, other fields are left alone", () => {
  const { log, records } = capture();
  const child = log.child({ chain: "c" });
  child.warn(
    {
      destination: `ftp://u:${SECRET}@h/out/`,
      url: `https://x:${SECRET}@hooks/alert`,
      reason: `cannot reach scp://u:${SECRET}@h:22/`,
      uid: "a.dat",
    },
    "something",
  );
  child.info({ err: `plain text naming ftp://u:${SECRET}@h/` }, "string err");
  assert.doesNotMatch(JSON.stringify(records), new RegExp(SECRET));
  assert.equal(records[0]!["destination"], "ftp://h/out/");
  assert.equal(records[0]!["uid"], "a.dat");
  assert.equal(records[0]!["chain"], "c");
});

test("log - the request server's err reply is the message without credentials or stack", () => {
  const err = new ConnectFailure(
    `cannot connect to ftp://u:${SECRET}@h:21/`,
    false,
  );
  assert.equal(errorReplyText(err), "cannot connect to ftp://h:21/");
  assert.equal(
    errorReplyText(new DOMException("aborted", "AbortError")),
    "server shutting down",
  );
});

test("log - lazyChild makes the child on first use, once, and its lines carry the child's fields", () => {
  const { log, records } = capture();
  let made = 0;
  const counting = {
    ...log,
    trace: log.trace.bind(log),
    debug: log.debug.bind(log),
    info: log.info.bind(log),
    warn: log.warn.bind(log),
    error: log.error.bind(log),
    child: (fields: object) => {
      made++;
      return log.child(fields);
    },
  };
  const lazy = lazyChild(counting, { uid: "a.dat", provider: "rx1:9010" });
  assert.equal(made, 0, "no child before a line");
  lazy.warn({ attempt: 1 }, "push failed");
  lazy.info({}, "again");
  assert.equal(made, 1);
  assert.deepEqual(
    records.map((r) => [r.msg, r["uid"], r["provider"], r["attempt"]]),
    [
      ["push failed", "a.dat", "rx1:9010", 1],
      ["again", "a.dat", "rx1:9010", undefined],
    ],
  );
});

test("log - lazyChild makes no child for a debug line its logger drops, and one for a debug line it writes", () => {
  for (const level of ["info", "debug"] as const) {
    const records: LogRecord[] = [];
    const root = bunyan.createLogger({
      name: "log-test",
      streams: [
        {
          level,
          type: "raw",
          stream: { write: (r: unknown) => records.push(r as LogRecord) },
        },
      ],
    });
    let made = 0;
    const counting = {
      trace: root.trace.bind(root),
      debug: root.debug.bind(root),
      info: root.info.bind(root),
      warn: root.warn.bind(root),
      error: root.error.bind(root),
      level: () => root.level(),
      child: (fields: object) => {
        made++;
        return root.child(fields);
      },
    };
    const lazy = lazyChild(counting, { req: "push", peer: "ab12" });
    lazy.trace({}, "frame");
    lazy.debug({ subject: "/x" }, "request received");
    assert.equal(made, level === "info" ? 0 : 1, `at ${level}`);
    assert.deepEqual(
      records.map((r) => [r.msg, r["req"], r["subject"]]),
      level === "info" ? [] : [["request received", "push", "/x"]],
    );
    lazy.warn({}, "request refused");
    assert.equal(made, 1, `at ${level}, a warning makes the child once`);
    assert.equal(records.at(-1)?.["peer"], "ab12");
  }
});
