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
import { test, type TestContext } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { DeliveryCounter } from "../helpers/fleet.js";
import { Message } from "../../src/message/index.js";
import { logRecords, runCommand, type Proc } from "../helpers/procs.js";
import {
  S3_KEY,
  S3_SECRET,
  s3Skip,
  startS3,
  type S3Server,
} from "../helpers/s3d.js";
import { serverProc, type ServerProc } from "../helpers/server-proc.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { collect, request } from "../helpers/zmq.js";

const MIB = 1024 * 1024;
const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

interface BucketFleet {
  s3: S3Server;
  dir: string;
  /** Put `body` at `key` of bucket `source`, its sha256 in the metadata unless `withSum` is false. */
  put: (key: string, body: Buffer, withSum?: boolean) => Promise<void>;
  /** The same as a multipart upload (8 MiB parts), read from a local copy. */
  upload: (key: string, body: Buffer) => Promise<void>;
  /** move_it_server with section [bucket] listing `s3://source/in/{name}.dat` on the topic (not started). */
  server: ServerProc;
  /**
   * Write client.ini (sections [name] → destination, with extra lines) and start move_it_client; resolves once every
   * chain heard the server. Called before the server's first start, it pins the server's publish port (read then).
   */
  startClient: (
    sections: ReadonlyArray<
      readonly [name: string, destination: string, extra?: string]
    >,
  ) => Promise<{ proc: Proc; log: string }>;
}

/** s3rver with `buckets` (`source` first), a server section polling it every 0.2 s (`working_directory` `<dir>/staging`, never made), and a client of it on `topic`. */
async function bucketFleet(
  t: TestContext,
  topic: string,
  opts: { buckets?: string[]; extra?: string } = {},
): Promise<BucketFleet> {
  const s3 = await startS3(opts.buckets ?? ["source"]);
  t.after(() => s3.stop());
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
  });
  t.after(() => client.destroy());
  const dir = await tempDir(t);
  const params = [
    `connection_parameters__endpoint_url = ${s3.endpoint}`,
    `connection_parameters__key = ${S3_KEY}`,
    `connection_parameters__secret = ${S3_SECRET}`,
  ];
  const server = await serverProc(t, dir, [
    {
      name: "bucket",
      origin: "s3://source/in/{name}.dat",
      topic,
      extra: [
        "watchdog_timeout = 0.2",
        `working_directory = ${join(dir, "staging")}`,
        ...params,
        opts.extra ?? "",
      ].join("\n"),
    },
  ]);
  return {
    s3,
    dir,
    server,
    async put(key, body, withSum = true) {
      await client.send(
        new PutObjectCommand({
          Bucket: "source",
          Key: key,
          Body: body,
          ...(withSum ? { Metadata: { sha256: sha(body) } } : {}),
        }),
      );
    },
    async upload(key, body) {
      const local = join(dir, `${key.replaceAll("/", "_")}.src`);
      await writeFile(local, body);
      await new Upload({
        client,
        params: {
          Bucket: "source",
          Key: key,
          Body: createReadStream(local),
          Metadata: { sha256: sha(body) },
        },
        partSize: 8 * MIB,
      }).done();
    },
    async startClient(sections) {
      const ini = sections
        .map(
          ([name, destination, extra = ""]) =>
            `[${name}]\nproviders = 127.0.0.1:${server.publishPort}\ndestination = ${destination}\ntopic = ${topic}\npublish_port = 0\nnameservers = false\n${extra}`,
        )
        .join("");
      await writeFile(join(dir, "client.ini"), ini);
      const log = join(dir, "client.log");
      const count = async (msg: string): Promise<number> =>
        (await logRecords(log)).filter((r) => r["msg"] === msg).length;
      const [started, heard] = [
        await count("chain started"),
        await count("provider heard"),
      ];
      const proc = runCommand(t, "move_it_client", [
        join(dir, "client.ini"),
        "--host",
        "127.0.0.1",
        "-l",
        log,
        "--state-dir",
        join(dir, "client-state"),
      ]);
      await waitFor(
        async () =>
          (await count("chain started")) === started + sections.length,
        "client chains started",
      );
      // Every chain heard the server (a heartbeat): its subscription is in place. The server beats a moment after
      // each new subscriber connects, whenever the client starts.
      await waitFor(
        async () => (await count("provider heard")) >= heard + sections.length,
        `"provider heard" in ${sections.length} chains`,
        45_000,
      );
      return { proc, log };
    },
  };
}

test(
  "e2e/s3-source - objects appearing in a bucket are announced and pushed to file and s3 destinations intact",
  { skip: s3Skip() },
  async (t) => {
    const { s3, dir, server, put, startClient } = await bucketFleet(
      t,
      "/s3src/bucket",
      { buckets: ["source", "incoming"], extra: "remove_delay = 0" },
    );
    const out = join(dir, "out");
    await put("in/before.dat", randomBytes(3000), false); // there before the server starts, which is told to skip its backlog
    // The client first, so that it hears the server's first heartbeat.
    const client = startClient([
      ["files", `file://${out}/`],
      ["copy", "s3://incoming/copy/"],
    ]);
    await server.start(["--disable-backlog"]);
    await client;

    const delivered = (name: string, body: Buffer): Promise<boolean> =>
      waitFor(
        async () => {
          const local = await readFile(join(out, name)).catch(() => undefined);
          const copied = await readFile(
            join(s3.dir, "incoming", `copy/${name}._S3rver_object`),
          ).catch(() => undefined);
          return (
            local !== undefined &&
            copied !== undefined &&
            sha(local) === sha(body) &&
            sha(copied) === sha(body)
          );
        },
        `${name} delivered to both destinations`,
        30_000,
      );

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
    const refused = await request(
      server.ports["bucket"]!,
      new Message("/s3src/bucket", "push", {
        uri: "s3://source/in/ignored.txt",
        uid: "ignored.txt",
        destination: `file://${out}/`,
      }),
    );
    assert.equal(refused.type, "err");
    assert.match(String(refused.data), /not announced/);
    // Streamed (and copied server-side to s3): no local copy was ever made.
    assert.equal(
      existsSync(join(dir, "staging")),
      false,
      "nothing staged under working_directory",
    );
    const srv = (await server.records()).map((r) => String(r["msg"]));
    assert.ok(!srv.includes("object fetched"));
  },
);

test(
  "e2e/s3-source - a server kill -9'd and restarted announces exactly the objects it had not, those put while it was down included",
  { skip: s3Skip() },
  async (t) => {
    const { server, put: putBody } = await bucketFleet(t, "/s3src/marker");
    const put = (key: string): Promise<void> =>
      putBody(key, randomBytes(500), false);
    const heard = collect(t, server.publishPort, ["/s3src/marker"]);
    const uids = (): string[] =>
      heard
        .filter((m) => m.type === "file")
        .map((m) => String(m.dataObject["uid"]));
    const have = (names: readonly string[]): Promise<boolean> =>
      waitFor(
        () => names.every((n) => uids().includes(n)),
        `${names.join(", ")} announced`,
        30_000,
      );
    const names = (p: string, n: number): string[] =>
      Array.from({ length: n }, (_, i) => `${p}${i}.dat`);

    for (const n of names("a", 5)) await put(`in/${n}`); // the backlog of the first start
    await server.start();
    await have(names("a", 5));
    for (const n of names("b", 3)) await put(`in/${n}`);
    await have(names("b", 3));
    await server.kill9();

    // Put while the server is down: these, and only these, are new to it.
    for (const n of names("c", 4)) await put(`in/${n}`);
    await put("in/c-not-matching.txt");
    await server.start();
    const resumed = await waitFor(
      async () =>
        (await server.records()).find(
          (r) => r["msg"] === "bucket listing resumed",
        ),
      "bucket listing resumed",
    );
    assert.equal(resumed["after"], "in/b2.dat");
    await have(names("c", 4));
    // A later object: once it is heard, everything the restart would announce has been.
    await put("in/d0.dat");
    await have(["d0.dat"]);
    const want = [
      ...names("a", 5),
      ...names("b", 3),
      ...names("c", 4),
      "d0.dat",
    ].sort();
    assert.deepEqual(
      uids().sort(),
      want,
      "every object announced exactly once across the kill -9",
    );
  },
);

test(
  "e2e/s3-source - a push streams the object: kill -9 mid push of a multipart object leaves nothing under its name, the restarted server delivers it whole once; a wrong key is a clear err",
  { skip: s3Skip(), timeout: 240_000 },
  async (t) => {
    const { s3, dir, server, upload, startClient } = await bucketFleet(
      t,
      "/s3src/stream",
    );
    const out = join(dir, "out");
    await mkdir(out);
    const counter = new DeliveryCounter(t, out);
    await counter.started();
    // The client first, so that it hears the server's first heartbeat.
    const client = startClient([
      ["files", `file://${out}/`, "transfer_req_timeout = 2\n"],
      [
        "denied",
        "s3://source/copy/",
        "transfer_req_timeout = 2\nlogin = NOT-A-KEY:wrong-secret\n",
      ],
    ]);
    await server.start();
    const { log: cliLog } = await client;

    // A multipart object, big enough that its push is caught half-way.
    const big = randomBytes(160 * MIB + 5);
    await upload("in/big.dat", big);
    await waitFor(
      async () =>
        (await readdir(out)).some(
          (n) => n.startsWith(".big.dat.") && n.endsWith(".part"),
        ),
      "the push under way (a .part in the destination)",
      60_000,
    );
    await server.kill9();
    assert.equal(
      existsSync(join(out, "big.dat")),
      false,
      "nothing under the final name after the kill",
    );

    // Restarted (same state dir): the object is not announced again, the client's wait on the lost push ends
    // (another server instance answers its ping) and it pushes again: the object arrives whole, once.
    await server.start();
    await waitFor(
      async () =>
        (await readFile(join(out, "big.dat")).then(sha, () => "")) === sha(big),
      "big.dat delivered intact",
      120_000,
    );
    assert.deepEqual(await readdir(out), ["big.dat"], "no .part left");
    assert.deepEqual(counter.twice(), []);
    assert.equal(counter.counts.get("big.dat"), 1);

    // The section logging in with a wrong key: a clear err, and nothing written.
    const denied = await waitFor(
      async () => {
        const f = (await logRecords(cliLog)).filter(
          (r) => r["msg"] === "push failed" && r["chain"] === "denied",
        );
        return /access denied to s3:\/\/source .*InvalidAccessKeyId/.test(
          JSON.stringify(f),
        )
          ? f
          : undefined;
      },
      "the wrong key refused",
      60_000,
    );
    assert.ok(denied.length >= 1);
    assert.deepEqual(
      (await s3.keys("source")).filter((k) => k.startsWith("copy/")),
      [],
    );
    for (const log of [cliLog, server.log])
      assert.ok(
        !(await readFile(log, "utf8")).includes("wrong-secret"),
        `${log} shows the secret`,
      );
  },
);

test(
  "e2e/s3-source - a client down while objects were announced gets each exactly once after it starts (catch-up from the ledger)",
  { skip: s3Skip(), timeout: 180_000 },
  async (t) => {
    const { dir, server, put, startClient } = await bucketFleet(
      t,
      "/s3src/catchup",
    );
    const out = join(dir, "out");
    await mkdir(out);
    const counter = new DeliveryCounter(t, out);
    await counter.started();
    // The test's subscriber and the client first, so that they hear the server's first heartbeat.
    const heard = collect(t, server.publishPort, [
      "/s3src/catchup",
      "/heartbeat/",
    ]);
    const first = startClient([["files", `file://${out}/`]]);
    await server.start();
    let client = await first;
    await waitFor(
      () => heard.some((m) => m.type === "beat"),
      "a heartbeat at the test's subscriber",
      30_000,
    );
    const announced = (n: number): Promise<boolean> =>
      waitFor(
        () => heard.filter((m) => m.type === "file").length >= n,
        `${n} objects announced`,
        30_000,
      );
    const deliveredIntact = (
      bodies: ReadonlyMap<string, Buffer>,
    ): Promise<boolean> =>
      waitFor(
        async () => {
          for (const [name, body] of bodies)
            if (
              (await readFile(join(out, name)).then(sha, () => "")) !==
              sha(body)
            )
              return false;
          return true;
        },
        `${bodies.size} objects delivered intact`,
        90_000,
      );

    // The client hears one object live, so its ledger knows the server; then it stops.
    const probe = randomBytes(100);
    await put("in/a-probe.dat", probe);
    await deliveredIntact(new Map([["a-probe.dat", probe]]));
    client.proc.child.kill("SIGTERM");
    await client.proc.exited;

    // Announced while no client is up: only the bare subscriber hears them.
    const missed = new Map(
      Array.from(
        { length: 20 },
        (_, i) =>
          [
            `b${String(i).padStart(2, "0")}.dat`,
            randomBytes(1000 + i),
          ] as const,
      ),
    );
    for (const [name, body] of missed) await put(`in/${name}`, body);
    await announced(1 + missed.size);

    client = await startClient([["files", `file://${out}/`]]);
    await deliveredIntact(missed);
    // A later object, heard live: once it is in, whatever the catch-up would repeat has had time to.
    const late = randomBytes(10);
    await put("in/c-late.dat", late);
    await deliveredIntact(new Map([["c-late.dat", late]]));
    assert.deepEqual(
      (await readdir(out)).sort(),
      ["a-probe.dat", ...missed.keys(), "c-late.dat"].sort(),
      "nothing else, no .part",
    );
    assert.deepEqual(counter.twice(), [], "each delivered once");
    assert.equal(counter.counts.size, missed.size + 2);
    const caught = (await logRecords(client.log)).filter(
      (r) => r["msg"] === "caught up",
    );
    assert.ok(
      caught.some((r) => Number(r["announcements"]) >= missed.size),
      "the catch-up reply held the missed objects",
    );
    // An ack of an object (a client that got it elsewhere) is recorded, not refused as outside origin.
    const ack = await request(
      server.ports["bucket"]!,
      new Message("/s3src/catchup", "ack", {
        uri: "s3://source/in/b00.dat",
        uid: "b00.dat",
      }),
    );
    assert.equal(ack.type, "ack");
  },
);
