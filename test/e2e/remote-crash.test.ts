/**
 * Issue 10's crash row for remote destinations (and issue 16's bucket
 * source): move_it_server `kill -9`ed while it uploads a big file to an
 * sftp or ftp destination (a real sshd, a real vsftpd on 127.0.0.1) leaves
 * the upload's temporary on the remote. Restarted with the same state
 * directory, the server removes it (the journal of remote temporaries in its
 * ledger) and the client's retried push delivers the file: it arrives
 * intact, renamed into place once, and no temporary is left anywhere, on
 * the remote or in the journal.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  chmod,
  chown,
  mkdir,
  readFile,
  readdir,
  stat,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Ledger } from "../../src/ledger/sqlite.js";
import { SERVER_LEDGER_SCHEMA } from "../../src/server/ledger.js";
import { requireBinary, skipUnless } from "../helpers/daemon.js";
import {
  DeliveryCounter,
  assertExactlyOnce,
  runningFleet,
} from "../helpers/fleet.js";
import { ftpdSkip, startFtpd } from "../helpers/ftpd.js";
import {
  logRecords,
  runCommand,
  waitProvidersHeard,
} from "../helpers/procs.js";
import { S3_KEY, S3_SECRET, s3Skip, startS3 } from "../helpers/s3d.js";
import { serverProc } from "../helpers/server-proc.js";
import { sshdSkip, startSshd, type SshdServer } from "../helpers/sshd.js";
import { startThrottle } from "../helpers/throttle.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const MIB = 1024 * 1024;
const INOTIFYWAIT = "/usr/bin/inotifywait";
const needInotify = skipUnless(INOTIFYWAIT, "inotify-tools");
/**
 * Every upload goes through a throttle (a relay for ssh and the bucket, vsftpd's own limit for FTP): at RATE,
 * SIZE takes at least 2.5 s however fast the machine, so the test sees the temporary grow and kills the
 * server while the upload runs, with a small file. (Before: 256 MiB unthrottled, caught half-way only
 * because loopback sftp moved ~100 MiB/s here.)
 */
const RATE = 3 * MIB;
const SIZE = 8 * MIB;
/** A bucket object, streamed from s3rver (through the throttle) to sftp. */
const OBJECT_SIZE = 8 * MIB;
/** Bounds, not speed checks: the file uploaded again on a busy machine. */
const DELIVERY_MS = 120_000;

const sha = (b: Buffer): string => createHash("sha256").update(b).digest("hex");

/** The temporary of `name` in `dir` once two looks in a row saw it grow; the temporary's name. */
async function growingTemporary(dir: string, name: string): Promise<string> {
  const sizes = new Map<string, number>();
  return waitFor(
    async () => {
      for (const n of await readdir(dir)) {
        if (!n.startsWith(`.${name}.`) || !n.endsWith(".part")) continue;
        const size = await stat(join(dir, n)).then(
          (s) => s.size,
          () => -1,
        );
        const before = sizes.get(n);
        sizes.set(n, size);
        if (before !== undefined && before > 0 && size > before) return n;
      }
      return undefined;
    },
    `the temporary of ${name} growing in ${dir}`,
    120_000,
  );
}

/** The rows of the server ledger's journal of remote temporaries (read-only, the server stopped or running). */
function journalRows(stateDir: string): Array<{ path: string }> {
  const ledger = Ledger.open(
    join(stateDir, "server.ledger.sqlite"),
    SERVER_LEDGER_SCHEMA,
    { readonly: true },
  );
  try {
    return ledger.db
      .prepare("SELECT path FROM remote_temporaries")
      .all() as Array<{ path: string }>;
  } finally {
    ledger.close();
  }
}

/**
 * Once the file is delivered again: the killed upload's temporary is gone (the new push to that remote waited
 * for the clean-up the restart began), and the clean-up said so.
 */
async function assertLeftoverRemoved(
  serverLog: string,
  remoteDir: string,
  leftover: string,
): Promise<void> {
  assert.ok(
    !(await readdir(remoteDir)).includes(leftover),
    `${leftover} removed from the remote before the file was delivered again`,
  );
  const removed = await waitFor(
    async () =>
      (await logRecords(serverLog)).find(
        (r) => r["msg"] === "remote temporaries removed",
      ),
    "the clean-up's log record",
    10_000,
  );
  assert.equal(removed["removed"], 1);
  assert.equal(removed["left"], 0);
}

interface RemoteCase {
  /** The client's destination URL, and that directory on disk. */
  destination: string;
  dir: string;
  /** Server section lines (credentials of the upload). */
  serverExtra: string;
}

async function crashDuringUpload(
  t: TestContext,
  remote: RemoteCase,
): Promise<void> {
  requireBinary(INOTIFYWAIT, "inotify-tools");
  const { fleet, counter } = await runningFleet(t, {
    out: remote.dir,
    destination: remote.destination,
    serverExtra: remote.serverExtra,
  });
  // Every warm-up probe through first: one still uploading (slowly, through the throttle) when the server is
  // killed would leave a second temporary.
  await waitFor(
    async () => (await fleet.probesDelivered()).length === fleet.probes.size,
    "every warm-up probe delivered",
    60_000,
  );
  await fleet.drop("huge.dat", SIZE);
  const leftover = await growingTemporary(remote.dir, "huge.dat");
  await fleet.kill9("server");
  assert.ok(
    !(await readdir(remote.dir)).includes("huge.dat"),
    "killed mid-upload: nothing under the final name",
  );
  assert.ok(
    (await readdir(remote.dir)).includes(leftover),
    "the killed upload's temporary is on the remote",
  );

  await fleet.startServer();
  await fleet.waitAllDelivered(DELIVERY_MS);
  await assertLeftoverRemoved(fleet.serverLog, remote.dir, leftover);
  await waitFor(
    () => counter.counts.has("huge.dat"),
    "the rename into place seen",
    10_000,
  );
  await assertExactlyOnce(fleet, counter);
  assert.equal(counter.counts.get("huge.dat"), 1);
  await fleet.stop("server");
  assert.deepEqual(
    journalRows(join(fleet.dir, "server-state")),
    [],
    "the journal is empty",
  );
}

/**
 * The sshd behind a throttle: its port, and the server's login there (client key, and a known_hosts naming the
 * throttle's port) as the section's connection parameters.
 */
async function slowSsh(
  t: TestContext,
  sshd: SshdServer,
  work: string,
): Promise<{ port: number; params: string }> {
  const slow = await startThrottle(t, sshd, RATE);
  const knownHosts = join(work, "known_hosts");
  await writeFile(
    knownHosts,
    `[${sshd.host}]:${slow.port} ${sshd.hostPublicKey}\n`,
  );
  return {
    port: slow.port,
    params: `connection_parameters__ssh_key_filename = ${sshd.clientKey}\nconnection_parameters__known_hosts = ${knownHosts}\n`,
  };
}

test(
  "e2e/remote-crash - server kill -9'd during an sftp upload: restarted, it removes the temporary; the file arrives whole, once",
  { skip: needInotify ?? sshdSkip(), timeout: 400_000 },
  async (t) => {
    const sshd = await startSshd();
    t.after(() => sshd.stop());
    const work = await tempDir(t, "move_it-rcrash-");
    const dir = join(work, "remote");
    await mkdir(dir);
    const slow = await slowSsh(t, sshd, work);
    await crashDuringUpload(t, {
      destination: `sftp://root@${sshd.host}:${slow.port}${dir}/`,
      dir,
      serverExtra: slow.params,
    });
  },
);

test(
  "e2e/remote-crash - server kill -9'd during an ftp upload: restarted, it removes the temporary; the file arrives whole, once",
  { skip: needInotify ?? ftpdSkip(), timeout: 400_000 },
  async (t) => {
    // Anonymous with the default password: the restarted server logs in for the clean-up as the push did.
    const ftpd = await startFtpd({ maxRate: RATE });
    t.after(() => ftpd.stop());
    const dir = join(ftpd.pub, "in");
    await mkdir(dir);
    const owner = await stat(ftpd.pub);
    await chown(dir, owner.uid, owner.gid);
    await crashDuringUpload(t, {
      destination: `ftp://${ftpd.host}:${ftpd.port}/pub/in/`,
      dir,
      serverExtra: "",
    });
  },
);

test(
  "e2e/remote-crash - a bucket object streamed to sftp, server kill -9'd mid upload: restarted, it removes the temporary; the object arrives whole, once",
  { skip: needInotify ?? sshdSkip() ?? s3Skip(), timeout: 400_000 },
  async (t) => {
    requireBinary(INOTIFYWAIT, "inotify-tools");
    const [sshd, s3] = await Promise.all([startSshd(), startS3(["source"])]);
    t.after(() => sshd.stop());
    t.after(() => s3.stop());
    const work = await tempDir(t, "move_it-rcrash-s3-");
    await chmod(work, 0o755);
    const remote = join(work, "remote");
    await mkdir(remote);
    const slow = await slowSsh(t, sshd, work);
    // The server reads the bucket through a throttle too (the test puts the object directly).
    const s3Port = Number(new URL(s3.endpoint).port);
    const slowS3 = await startThrottle(
      t,
      { host: "127.0.0.1", port: s3Port },
      RATE,
    );
    const counter = new DeliveryCounter(t, remote);
    await counter.started();
    const topic = "/rcrash/bucket";
    const extra = [
      "watchdog_timeout = 0.2",
      `working_directory = ${join(work, "staging")}`,
      `connection_parameters__endpoint_url = http://127.0.0.1:${slowS3.port}`,
      `connection_parameters__key = ${S3_KEY}`,
      `connection_parameters__secret = ${S3_SECRET}`,
      slow.params,
    ];
    const server = await serverProc(t, work, [
      {
        name: "bucket",
        origin: "s3://source/in/{name}.dat",
        topic,
        extra: extra.join("\n"),
      },
    ]);
    // The client and the server started together: the server beats a moment after the client's subscriber
    // connects. (Started well before, the client's refused subscriber retries at growing intervals, up to 5 s.)
    const clientLog = join(work, "client.log");
    await writeFile(
      join(work, "client.ini"),
      `[c]\nproviders = 127.0.0.1:${server.publishPort}\ndestination = sftp://root@${sshd.host}:${slow.port}${remote}/\ntopic = ${topic}\npublish_port = 0\nnameservers = false\ntransfer_req_timeout = 2\n`,
    );
    runCommand(t, "move_it_client", [
      join(work, "client.ini"),
      "--host",
      "127.0.0.1",
      "-l",
      clientLog,
      "--state-dir",
      join(work, "client-state"),
    ]);
    await server.start();
    await waitFor(
      async () =>
        (await logRecords(clientLog)).some((r) => r["msg"] === "chain started"),
      "client chain started",
    );
    await waitProvidersHeard(clientLog, 1);

    const body = randomBytes(OBJECT_SIZE);
    const local = join(work, "big.src");
    await writeFile(local, body);
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
    });
    t.after(() => client.destroy());
    await new Upload({
      client,
      params: {
        Bucket: "source",
        Key: "in/big.dat",
        Body: createReadStream(local),
        Metadata: { sha256: sha(body) },
      },
      partSize: 5 * MIB,
    }).done();

    const leftover = await growingTemporary(remote, "big.dat");
    await server.kill9();
    assert.ok(
      !(await readdir(remote)).includes("big.dat"),
      "killed mid-upload: nothing under the final name",
    );
    assert.ok(
      (await readdir(remote)).includes(leftover),
      "the killed upload's temporary is on the remote",
    );

    await server.start();
    await waitFor(
      async () =>
        (await readFile(join(remote, "big.dat")).then(sha, () => "")) ===
        sha(body),
      "big.dat delivered intact",
      DELIVERY_MS,
    );
    await assertLeftoverRemoved(server.log, remote, leftover);
    await waitFor(
      () => counter.counts.has("big.dat"),
      "the rename into place seen",
      10_000,
    );
    assert.deepEqual(await readdir(remote), ["big.dat"], "no temporary left");
    assert.deepEqual(counter.twice(), []);
    await server.stop();
    assert.deepEqual(journalRows(server.stateDir), [], "the journal is empty");
  },
);
