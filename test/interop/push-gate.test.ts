/**
 * Concurrent pushes and what a server can take (issue 11, item 5). A Python
 * server's request threads share one cached FTP connection per host, so
 * concurrent pushes to one FTP host break there (`err 200 Type set to:
 * Binary.`). Our client sends a server at most as many pushes at once as its
 * pong advertises, and one at a time to a server that says nothing.
 *
 * - Python server → move_it client, destination on a vsftpd in the lab:
 *   a batch of files dropped at once all arrive intact, the server logs no
 *   failed copy, and no two pushes toward it overlapped;
 * - move_it server → move_it client, same FTP destination: every file
 *   arrives and pushes did overlap (our pong says 32).
 *
 * Overlap is read from the client's `push completed` records (end time and
 * duration of each push).
 */
import assert from "node:assert/strict";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { VSFTPD, ftpdTree } from "../helpers/ftpd.js";
import type { LogRecord } from "../helpers/netns.js";
import {
  assertIntact,
  drop,
  inLab,
  ini,
  makeFiles,
  makeSite,
  outputOf,
  published,
  skip,
  uidOf,
  waitArrived,
  waitPublished,
  warmUp,
} from "../helpers/interop-kit.js";

const PUB = 9010;
const REQ = 9201;
const CLIENT_PUB = 9030;
const FTP_PORT = 2121;
const PASV = 30_000;
const TOPIC = "/interop/gate";
const SIZES = [
  1 << 20,
  2 << 20,
  777,
  1 << 20,
  3 << 20,
  65_536,
  2 << 20,
  1 << 20,
  4096,
  2 << 20,
  1 << 20,
  500_000,
];

/** The most pushes in flight at once, from `push completed` records (end `time`, `durationMs`). */
function peakOverlap(
  records: readonly LogRecord[],
  names: ReadonlySet<string>,
): number {
  const spans = records
    .filter((r) => r.msg === "push completed" && names.has(String(r["uid"])))
    .map((r) => {
      const end = Date.parse(String(r["time"]));
      return { start: end - Number(r["durationMs"]), end };
    });
  let peak = 0;
  for (const s of spans) {
    // Strict: a push that starts the millisecond another ended did not overlap it.
    const at = spans.filter(
      (o) => o.start <= s.start && o.end > s.start,
    ).length;
    peak = Math.max(peak, at);
  }
  return peak;
}

for (const kind of ["python", "move_it"] as const) {
  const title =
    kind === "python"
      ? "Python server → move_it client over FTP: one push at a time, every file delivered, no failed copy"
      : "move_it server → move_it client over FTP: pushes overlap, every file delivered";
  test(
    `interop/push-gate - ${title}`,
    { skip, timeout: 180_000 },
    async (t) => {
      await inLab(t, kind === "python" ? "gatepy" : "gatets", async (lab) => {
        const ftp = await ftpdTree();
        t.after(() => rm(ftp.dir, { recursive: true, force: true }));
        lab.lab.spawnProgram(lab.ns, "vsftpd", VSFTPD, [
          await ftp.configure(FTP_PORT, PASV),
        ]);
        await lab.reachable(FTP_PORT);
        const site = await makeSite(join(lab.dir, "site"));
        await mkdir(join(lab.dir, "state"));
        const sIni = await ini(
          lab,
          "server.ini",
          `[gate]\norigin = ${site.inDir}/{name}.dat\ntopic = ${TOPIC}\nrequest_port = ${REQ}\nrequest_address = 127.0.0.1\ndelete = False\n`,
        );
        const cIni = await ini(
          lab,
          "client.ini",
          `[gate]\nproviders = 127.0.0.1:${PUB}\ndestination = ftp://127.0.0.1:${FTP_PORT}/pub/\ntopic = ${TOPIC}\npublish_port = ${CLIENT_PUB}\nnameservers = false\ncreate_target_directory = False\n`,
        );
        const server =
          kind === "python"
            ? lab.py("py-server", "move_it_server", [
                "-p",
                String(PUB),
                "--disable-backlog",
                "-v",
                sIni,
              ])
            : lab.ours("ts-server", "server", [
                sIni,
                "-p",
                String(PUB),
                "--host",
                "127.0.0.1",
                "--disable-backlog",
                "--state-dir",
                join(lab.dir, "state"),
                "-v",
              ]);
        const client = lab.ours("ts-client", "client", [
          cIni,
          "--host",
          "127.0.0.1",
          "-v",
        ]);
        await lab.reachable(PUB);
        await lab.reachable(CLIENT_PUB);
        const sub = lab.lab.subscribe(
          lab.ns,
          "sub",
          `tcp://127.0.0.1:${CLIENT_PUB}`,
        );
        await warmUp(
          [site],
          async (name) => published(sub, "file").some((m) => uidOf(m) === name),
          1500,
        );

        const files = makeFiles("gate", SIZES);
        await drop([site], files);
        await waitPublished(
          sub,
          files.keys(),
          "a file message for every file",
          120_000,
        );
        await waitArrived(ftp.pub, files.keys(), "every file on the FTP host");
        await assertIntact(ftp.pub, files);

        const records = await client.records();
        const failed = records.filter(
          (r) => r.msg === "push failed" || r.msg === "transfer failed",
        );
        assert.deepEqual(
          failed.map((r) => JSON.stringify(r["err"])),
          [],
          "no push failed",
        );
        const limits = records
          .filter((r) => r["maxConcurrentPushes"] !== undefined)
          .map((r) => r["maxConcurrentPushes"]);
        const peak = peakOverlap(records, new Set(files.keys()));
        if (kind === "python") {
          assert.deepEqual(
            limits,
            [1],
            "the Python server's pong says nothing: one push at a time",
          );
          assert.equal(
            peak,
            1,
            "no two pushes toward the Python server overlapped",
          );
          const out = await outputOf(server);
          assert.doesNotMatch(
            out,
            /Type set to|Something went wrong during copy/,
            "the Python server failed no copy",
          );
        } else {
          assert.deepEqual(limits, [32], "our server's pong says 32");
          assert.ok(
            peak > 1,
            `pushes toward our server overlapped (peak ${peak})`,
          );
        }
      });
    },
  );
}
