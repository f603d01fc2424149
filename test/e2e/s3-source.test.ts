/**
 * A bucket feeding a fleet, through the real commands: a move_it_server
 * section with an `s3://` origin polls s3rver, announces the objects, and
 * pushes them to a client's file and s3 destinations.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { DeliveryCounter } from "../helpers/fleet.js";
import { Message } from "../../src/message/index.js";
import { freePort } from "../helpers/net.js";
import { logRecords, runCommand, waitForLog } from "../helpers/procs.js";
import { S3_KEY, S3_SECRET, s3Skip, startS3 } from "../helpers/s3d.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { collect, request } from "../helpers/zmq.js";

const MIB = 1024 * 1024;
const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

test("e2e/s3-source - objects appearing in a bucket are announced and pushed to file and s3 destinations intact", { skip: s3Skip() }, async (t) => {
  const s3 = await startS3(["source", "incoming"]);
  t.after(() => s3.stop());
  const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET } });
  t.after(() => client.destroy());
  const put = async (key: string, body: Buffer, withSum = true): Promise<void> => {
    await client.send(new PutObjectCommand({ Bucket: "source", Key: key, Body: body, ...(withSum ? { Metadata: { sha256: sha(body) } } : {}) }));
  };
  const dir = await tempDir(t);
  const out = join(dir, "out");
  const [pub, req] = [await freePort(), await freePort()];
  await put("in/before.dat", randomBytes(3000), false); // there before the server starts, which is told to skip its backlog

  await writeFile(
    join(dir, "server.ini"),
    [
      "[bucket]",
      "origin = s3://source/in/{name}.dat",
      "topic = /s3src/bucket",
      `request_port = ${req}`,
      "request_address = 127.0.0.1",
      "watchdog_timeout = 0.2",
      `working_directory = ${join(dir, "staging")}`,
      "remove_delay = 0",
      `connection_parameters__endpoint_url = ${s3.endpoint}`,
      `connection_parameters__key = ${S3_KEY}`,
      `connection_parameters__secret = ${S3_SECRET}`,
      "",
    ].join("\n"),
  );
  const section = (name: string, destination: string): string => `[${name}]\nproviders = 127.0.0.1:${pub}\ndestination = ${destination}\ntopic = /s3src/bucket\npublish_port = 0\nnameservers = false\n`;
  await writeFile(join(dir, "client.ini"), section("files", `file://${out}/`) + section("copy", "s3://incoming/copy/"));
  const [srvLog, cliLog] = [join(dir, "server.log"), join(dir, "client.log")];
  runCommand(t, "move_it_server", [join(dir, "server.ini"), "-p", String(pub), "--host", "127.0.0.1", "--disable-backlog", "-l", srvLog]);
  await waitForLog(srvLog, "server started");
  runCommand(t, "move_it_client", [join(dir, "client.ini"), "--host", "127.0.0.1", "-l", cliLog]);
  await waitFor(async () => (await readFile(cliLog, "utf8").catch(() => "")).split("chain started").length === 3, "client chains started");
  await new Promise((r) => setTimeout(r, 1500)); // slow joiner: the client's SUB sockets must be subscribed

  const delivered = (name: string, body: Buffer): Promise<boolean> =>
    waitFor(async () => {
      const local = await readFile(join(out, name)).catch(() => undefined);
      const copied = await readFile(join(s3.dir, "incoming", `copy/${name}._S3rver_object`)).catch(() => undefined);
      return local !== undefined && copied !== undefined && sha(local) === sha(body) && sha(copied) === sha(body);
    }, `${name} delivered to both destinations`, 30_000);

  const small = randomBytes(1000);
  const big = randomBytes(11 * MIB + 11);
  await put("in/ignored.txt", randomBytes(10));
  await put("in/small.dat", small);
  await put("in/zz-big.dat", big);
  await delivered("small.dat", small);
  await delivered("zz-big.dat", big);
  // ignored.txt was listed before zz-big.dat and does not match, before.dat was there at start: neither announced.
  assert.deepEqual((await readdir(out)).sort(), ["small.dat", "zz-big.dat"]);

  // A push for an object this section did not announce and that does not match is refused.
  const refused = await request(req, new Message("/s3src/bucket", "push", { uri: "s3://source/in/ignored.txt", uid: "ignored.txt", destination: `file://${out}/` }));
  assert.equal(refused.type, "err");
  assert.match(String(refused.data), /not announced/);
  // Streamed (and copied server-side to s3): no local copy was ever made.
  assert.equal(existsSync(join(dir, "staging")), false, "nothing staged under working_directory");
  const srv = (await logRecords(srvLog)).map((r) => String(r["msg"]));
  assert.ok(!srv.includes("object fetched"));
});

test("e2e/s3-source - a server kill -9'd and restarted announces exactly the objects it had not, those put while it was down included", { skip: s3Skip() }, async (t) => {
  const s3 = await startS3(["source"]);
  t.after(() => s3.stop());
  const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET } });
  t.after(() => client.destroy());
  const put = (key: string): Promise<unknown> => client.send(new PutObjectCommand({ Bucket: "source", Key: key, Body: randomBytes(500) }));
  const dir = await tempDir(t);
  const [pub, req] = [await freePort(), await freePort()];
  await writeFile(
    join(dir, "server.ini"),
    [
      "[bucket]",
      "origin = s3://source/in/{name}.dat",
      "topic = /s3src/marker",
      `request_port = ${req}`,
      "request_address = 127.0.0.1",
      "watchdog_timeout = 0.2",
      `connection_parameters__endpoint_url = ${s3.endpoint}`,
      `connection_parameters__key = ${S3_KEY}`,
      `connection_parameters__secret = ${S3_SECRET}`,
      "",
    ].join("\n"),
  );
  const heard = collect(t, pub, ["/s3src/marker"]);
  const uids = (): string[] => heard.filter((m) => m.type === "file").map((m) => String(m.dataObject["uid"]));
  const have = (names: readonly string[]): Promise<boolean> => waitFor(() => names.every((n) => uids().includes(n)), `${names.join(", ")} announced`, 30_000);
  const start = async (run: number): Promise<ReturnType<typeof runCommand>> => {
    const log = join(dir, `server-${run}.log`);
    const p = runCommand(t, "move_it_server", [join(dir, "server.ini"), "-p", String(pub), "--host", "127.0.0.1", "--state-dir", join(dir, "state"), "-l", log]);
    await waitForLog(log, "server started");
    return p;
  };
  const names = (p: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${p}${i}.dat`);

  for (const n of names("a", 5)) await put(`in/${n}`); // the backlog of the first start
  let server = await start(1);
  await have(names("a", 5));
  for (const n of names("b", 3)) await put(`in/${n}`);
  await have(names("b", 3));
  server.child.kill("SIGKILL");
  await server.exited;

  // Put while the server is down: these, and only these, are new to it.
  for (const n of names("c", 4)) await put(`in/${n}`);
  await put("in/c-not-matching.txt");
  server = await start(2);
  const resumed = await waitForLog(join(dir, "server-2.log"), "bucket listing resumed");
  assert.equal(resumed["after"], "in/b2.dat");
  await have(names("c", 4));
  // A later object: once it is heard, everything the restart would announce has been.
  await put("in/d0.dat");
  await have(["d0.dat"]);
  const want = [...names("a", 5), ...names("b", 3), ...names("c", 4), "d0.dat"].sort();
  assert.deepEqual(uids().sort(), want, "every object announced exactly once across the kill -9");
});

test("e2e/s3-source - a push streams the object: kill -9 mid push of a multipart object leaves nothing under its name, the restarted server delivers it whole once; a wrong key is a clear err", { skip: s3Skip(), timeout: 240_000 }, async (t) => {
  const s3 = await startS3(["source"]);
  t.after(() => s3.stop());
  const client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET } });
  t.after(() => client.destroy());
  const dir = await tempDir(t);
  const out = join(dir, "out");
  await mkdir(out);
  const counter = new DeliveryCounter(t, out);
  await counter.started();
  const [pub, req] = [await freePort(), await freePort()];
  await writeFile(
    join(dir, "server.ini"),
    [
      "[bucket]",
      "origin = s3://source/in/{name}.dat",
      "topic = /s3src/stream",
      `request_port = ${req}`,
      "request_address = 127.0.0.1",
      "watchdog_timeout = 0.2",
      `connection_parameters__endpoint_url = ${s3.endpoint}`,
      `connection_parameters__key = ${S3_KEY}`,
      `connection_parameters__secret = ${S3_SECRET}`,
      "",
    ].join("\n"),
  );
  const section = (name: string, destination: string, extra = ""): string =>
    `[${name}]\nproviders = 127.0.0.1:${pub}\ndestination = ${destination}\ntopic = /s3src/stream\npublish_port = 0\nnameservers = false\ntransfer_req_timeout = 2\n${extra}`;
  await writeFile(join(dir, "client.ini"), section("files", `file://${out}/`) + section("denied", "s3://source/copy/", "login = NOT-A-KEY:wrong-secret\n"));
  const srvArgs = (log: string): string[] => [join(dir, "server.ini"), "-p", String(pub), "--host", "127.0.0.1", "--state-dir", join(dir, "state"), "-l", log];
  let server = runCommand(t, "move_it_server", srvArgs(join(dir, "server-1.log")));
  await waitForLog(join(dir, "server-1.log"), "server started");
  const cliLog = join(dir, "client.log");
  runCommand(t, "move_it_client", [join(dir, "client.ini"), "--host", "127.0.0.1", "-l", cliLog, "--state-dir", join(dir, "client-state")]);
  await waitFor(async () => (await logRecords(cliLog)).filter((r) => r["msg"] === "chain started").length === 2, "client chains started");
  await new Promise((r) => setTimeout(r, 1500)); // slow joiner: the client's SUB sockets must be subscribed

  // A multipart object, big enough that its push is caught half-way.
  const local = join(dir, "big.src");
  const big = randomBytes(160 * MIB + 5);
  await writeFile(local, big);
  const upload = new Upload({ client, params: { Bucket: "source", Key: "in/big.dat", Body: createReadStream(local), Metadata: { sha256: sha(big) } }, partSize: 8 * MIB });
  await upload.done();
  await waitFor(async () => (await readdir(out)).some((n) => n.startsWith(".big.dat.") && n.endsWith(".part")), "the push under way (a .part in the destination)", 60_000);
  server.child.kill("SIGKILL");
  await server.exited;
  assert.equal(existsSync(join(out, "big.dat")), false, "nothing under the final name after the kill");

  // Restarted (same state dir): the object is not announced again, the client's wait on the lost push ends
  // (another server instance answers its ping) and it pushes again: the object arrives whole, once.
  server = runCommand(t, "move_it_server", srvArgs(join(dir, "server-2.log")));
  await waitForLog(join(dir, "server-2.log"), "server started");
  await waitFor(async () => (await readFile(join(out, "big.dat")).then(sha, () => "")) === sha(big), "big.dat delivered intact", 120_000);
  assert.deepEqual(await readdir(out), ["big.dat"], "no .part left");
  assert.deepEqual(counter.twice(), []);
  assert.equal(counter.counts.get("big.dat"), 1);

  // The section logging in with a wrong key: a clear err, and nothing written.
  const denied = await waitFor(async () => {
    const f = (await logRecords(cliLog)).filter((r) => r["msg"] === "push failed" && r["chain"] === "denied");
    return /access denied to s3:\/\/source .*InvalidAccessKeyId/.test(JSON.stringify(f)) ? f : undefined;
  }, "the wrong key refused", 60_000);
  assert.ok(denied.length >= 1);
  assert.deepEqual((await s3.keys("source")).filter((k) => k.startsWith("copy/")), []);
  for (const log of [cliLog, join(dir, "server-1.log"), join(dir, "server-2.log")]) assert.ok(!(await readFile(log, "utf8")).includes("wrong-secret"), `${log} shows the secret`);
});
