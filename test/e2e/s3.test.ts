/**
 * S3 destinations through the real commands: move_it_server and
 * move_it_client processes, s3rver as the object store, all on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { randomFile } from "../helpers/mover-kit.js";
import { freePort } from "../helpers/net.js";
import {
  logRecords,
  runCommand,
  waitForLog,
  waitProvidersHeard,
} from "../helpers/procs.js";
import {
  S3_KEY,
  S3_SECRET,
  s3Skip,
  startS3,
  type S3Server,
} from "../helpers/s3d.js";
import { boundPorts, startServerProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { collect, request } from "../helpers/zmq.js";
import { Message } from "../../src/message/index.js";

const MIB = 1024 * 1024;
const WRONG_SECRET = "Top-Secret-Value-9";

function serverSection(
  name: string,
  dir: string,
  port: number,
  s3: S3Server,
  key = S3_KEY,
  secret = S3_SECRET,
): string {
  return [
    `[${name}]`,
    `origin = ${dir}/{name}.dat`,
    `topic = /s3e2e/${name}`,
    `request_port = ${port}`,
    "request_address = 127.0.0.1",
    `connection_parameters__endpoint_url = ${s3.endpoint}`,
    `connection_parameters__key = ${key}`,
    `connection_parameters__secret = ${secret}`,
    `connection_parameters__part_size = ${5 * MIB}`,
    "",
  ].join("\n");
}

function clientSection(
  name: string,
  pub: number,
  topic: string,
  destination: string,
  publishPort = 0,
): string {
  return `[${name}]\nproviders = 127.0.0.1:${pub}\ndestination = ${destination}\ntopic = ${topic}\npublish_port = ${publishPort}\nnameservers = false\n`;
}

async function s3Object(t: TestContext): Promise<S3Server> {
  const s3 = await startS3(["incoming"]);
  t.after(() => s3.stop());
  return s3;
}

const stored = (s3: S3Server, key: string): string =>
  join(s3.dir, "incoming", `${key}._S3rver_object`);
const sha = async (path: string): Promise<string> =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

async function drop(
  dir: string,
  inbox: string,
  name: string,
  bytes: number,
): Promise<string> {
  const f = await randomFile(dir, `${name}.tmp`, bytes);
  await rename(f.path, join(inbox, `${name}.dat`));
  return f.sha256;
}

test(
  "e2e/s3 - a client delivers small and multipart files to s3:// and publishes the object's uri; bad key and missing bucket are clear errors",
  { skip: s3Skip() },
  async (t) => {
    const s3 = await s3Object(t);
    const dir = await tempDir(t);
    const [good, denied] = [join(dir, "good"), join(dir, "denied")];
    await Promise.all([mkdir(good), mkdir(denied)]);
    // Picked beforehand: the client (and this test's subscriber of the client) are made before what they listen to binds.
    const [pub, cpub] = [await freePort(), await freePort()];
    await writeFile(
      join(dir, "server.ini"),
      serverSection("good", good, 0, s3) +
        serverSection("denied", denied, 0, s3, "NOT-A-KEY", WRONG_SECRET),
    );
    await writeFile(
      join(dir, "client.ini"),
      clientSection("good", pub, "/s3e2e/good", "s3://incoming/sat/", cpub) +
        clientSection(
          "nobucket",
          pub,
          "/s3e2e/good",
          "s3://no-such-bucket/sat/",
        ) +
        clientSection("denied", pub, "/s3e2e/denied", "s3://incoming/denied/"),
    );
    const [srvLog, cliLog] = [join(dir, "server.log"), join(dir, "client.log")];
    // This test's subscriber on the client's publisher first, then the client and the server together: each
    // subscriber hears a beat of what it connects to a moment after its handshake (a client started well
    // before its server connects later: its refused subscriber retries at doubling intervals, up to 5 s).
    const published = collect(t, cpub);
    runCommand(t, "move_it_client", [
      join(dir, "client.ini"),
      "--host",
      "127.0.0.1",
      "-l",
      cliLog,
    ]);
    runCommand(t, "move_it_server", [
      join(dir, "server.ini"),
      "-p",
      String(pub),
      "--host",
      "127.0.0.1",
      "--disable-backlog",
      "-l",
      srvLog,
    ]);
    await waitForLog(srvLog, "server started");
    await waitFor(
      async () =>
        (await logRecords(cliLog)).filter((r) => r["msg"] === "chain started")
          .length === 3,
      "three client chains started",
    );
    await waitProvidersHeard(cliLog, 3);
    await waitFor(
      () => published.some((m) => m.type === "beat"),
      "a heartbeat of the client's publisher",
      45_000,
    );

    const small = await drop(dir, good, "small", 2000);
    const big = await drop(dir, good, "big", 12 * MIB + 7);
    await drop(dir, denied, "secret", 100);

    await waitFor(
      async () =>
        (await sha(stored(s3, "sat/small.dat")).catch(() => "")) === small,
      "small.dat stored",
      60_000,
    );
    await waitFor(
      async () =>
        (await sha(stored(s3, "sat/big.dat")).catch(() => "")) === big,
      "big.dat stored",
      60_000,
    );
    const published2 = await waitFor(() => {
      const uris = published
        .map((m) => m.dataObject["uri"])
        .filter((u) => typeof u === "string");
      return uris.includes("s3://incoming/sat/small.dat") &&
        uris.includes("s3://incoming/sat/big.dat")
        ? uris
        : undefined;
    }, "client publishes s3:// uris");
    assert.ok(published2.length >= 2);

    const failures = await waitFor(async () => {
      const f = (await logRecords(cliLog)).filter(
        (r) => r["msg"] === "push failed",
      );
      const text = JSON.stringify(f);
      return /no such bucket: s3:\/\/no-such-bucket/.test(text) &&
        /access denied to s3:\/\/incoming .*InvalidAccessKeyId/.test(text)
        ? f
        : undefined;
    }, "push failures for the missing bucket and the bad key");
    assert.ok(failures.length >= 2);
    assert.deepEqual((await s3.keys("incoming")).sort(), [
      "sat/big.dat",
      "sat/small.dat",
    ]);
    for (const log of [srvLog, cliLog])
      assert.ok(
        !(await readFile(log, "utf8")).includes(WRONG_SECRET),
        `${log} shows the secret`,
      );
  },
);

test(
  "e2e/s3 - a server killed during a multipart upload leaves no object; restarted, it delivers the file intact",
  { skip: s3Skip() },
  async (t) => {
    const s3 = await s3Object(t);
    const dir = await tempDir(t);
    const inbox = join(dir, "in");
    await mkdir(inbox);
    // Picked beforehand: the client is started before the server binds it. The request port is the first start's.
    const pub = await freePort();
    const serverIni = (req: number): Promise<void> =>
      writeFile(
        join(dir, "server.ini"),
        serverSection("sat", inbox, req, s3) +
          "connection_parameters__max_concurrency = 1\n",
      );
    await serverIni(0);
    await writeFile(
      join(dir, "client.ini"),
      clientSection("c", pub, "/s3e2e/sat", "s3://incoming/sat/"),
    );
    const srvArgs = (log: string): string[] => [
      join(dir, "server.ini"),
      "-p",
      String(pub),
      "--host",
      "127.0.0.1",
      "-l",
      log,
      "-v",
    ];
    const srvLog = join(dir, "server1.log");
    // The client and the server together: the client hears a beat a moment after its subscriber connects
    // (started well before, its refused subscriber would retry at intervals growing to 5 s).
    const cliLog = join(dir, "client.log");
    runCommand(t, "move_it_client", [
      join(dir, "client.ini"),
      "--host",
      "127.0.0.1",
      "-l",
      cliLog,
    ]);
    const server = runCommand(t, "move_it_server", srvArgs(srvLog));
    await waitForLog(cliLog, "chain started");
    await waitForLog(srvLog, "server started");
    const req =
      boundPorts(await logRecords(srvLog)).ports["sat"] ??
      assert.fail("no request port of [sat] in the log");
    await waitProvidersHeard(cliLog, 1);

    const sum = await drop(dir, inbox, "huge", 60 * MIB);
    const uploads = join(s3.dir, "incoming", "._S3rver_uploads");
    await waitFor(
      async () => (await readdir(uploads).catch(() => [])).length > 0,
      "a part stored",
      30_000,
    );
    server.child.kill("SIGKILL");
    await server.exited;
    // The process is gone: nothing can complete the upload any more.
    assert.deepEqual(await s3.keys("incoming"), []);

    // Nothing lost: the file is still in the inbox, and the restarted server, which announces it again
    // from its backlog, delivers it whole when asked. (The first client does not ask: it still waits
    // on the push the killed server took with it, since the restarted server answers its pings.)
    assert.equal(await sha(join(inbox, "huge.dat")), sum);
    const srvLog2 = join(dir, "server2.log");
    await serverIni(req);
    await startServerProc(t, srvArgs(srvLog2), srvLog2, "server restart");
    await waitForLog(srvLog2, "announced");
    const push = new Message("/s3e2e/sat", "push", {
      uri: join(inbox, "huge.dat"),
      uid: "huge.dat",
      destination: "s3://incoming/sat/",
    });
    const reply = await request(req, push, 120_000);
    assert.equal(reply.type, "file", JSON.stringify(reply.data));
    assert.equal(await sha(stored(s3, "sat/huge.dat")), sum);
    assert.deepEqual(await s3.keys("incoming"), ["sat/huge.dat"]);
  },
);
