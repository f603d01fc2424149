/**
 * move_it against the unchanged Python suite, every pairing both ways, in a
 * network namespace with only `lo`:
 *
 * - Python server → move_it client, and move_it server → Python client;
 * - chains through a mirror: Python server → move_it mirror → Python
 *   client, and move_it server → Python mirror → move_it client (so the
 *   server/mirror and mirror/client pairings are covered both ways).
 *
 * Files of varied sizes are dropped at the server; each must arrive once, by
 * sha256 intact, with one `file` message published by the client for it,
 * and the served copies deleted (`delete = True`) once pushed.
 */
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Message } from "../../src/message/index.js";
import type { NsProcess } from "../helpers/netns.js";
import { waitFor } from "../helpers/wait.js";
import {
  Republished,
  assertDirHolds,
  assertIntact,
  drop,
  inLab,
  ini,
  labClient,
  labClientIni,
  labMirror,
  labMirrorIni,
  labServer,
  labServerIni,
  makeFiles,
  makeSite,
  skip,
  uidOf,
  waitGone,
  warmUp,
} from "../helpers/interop-kit.js";

const PUB = 9010;
const REQ = 9201;
const MIRROR_PUB = 9012;
const MIRROR_REQ = 9202;
const CLIENT_PUB = 9030;
const TOPIC = "/interop/pair";
const SIZES = [1, 999, 4096, 65_536, 200_001, 1 << 20, 3 << 20, 12_345];
/** A logging dictConfig (the reference's `-c`): its client's listener at debug, the rest at info. */
const PY_DEBUG_LOG = [
  "version: 1",
  "disable_existing_loggers: false",
  "formatters: {plain: {format: '[%(asctime)s %(levelname)-8s %(name)s] %(message)s'}}",
  "handlers: {console: {class: logging.StreamHandler, formatter: plain, level: DEBUG}}",
  "loggers: {trollmoves.client: {level: DEBUG}}",
  "root: {level: INFO, handlers: [console]}",
  "",
].join("\n");

for (const dir of [
  "python server → move_it client",
  "move_it server → Python client",
] as const) {
  const pyServer = dir.startsWith("python");
  // Behind a Python server the test also waits for two of its beats (every 30 s) after the warm-up.
  test(
    `interop/pairings - ${dir}: every file once, intact, republished, served copy deleted`,
    { skip, timeout: 210_000 },
    async (t) => {
      await inLab(t, pyServer ? "pyts" : "tspy", async (lab) => {
        const site = await makeSite(join(lab.dir, "site"));
        const out = join(lab.dir, "out");
        await mkdir(out);
        const sIni = await ini(
          lab,
          "server.ini",
          labServerIni(TOPIC, site.inDir, REQ),
        );
        const cIni = await ini(
          lab,
          "client.ini",
          labClientIni(TOPIC, [PUB], out, CLIENT_PUB),
        );
        labServer(lab, pyServer ? "python" : "move_it", sIni, PUB);
        // The Python client logs each message its listener receives at debug, for the beat check below.
        const client = pyServer
          ? labClient(lab, "move_it", cIni)
          : lab.py("py-client", "move_it_client", [
              "-c",
              await ini(lab, "py-log.yaml", PY_DEBUG_LOG),
              cIni,
            ]);
        const rx = await Republished.subscribe(lab, [PUB], CLIENT_PUB);
        // Our server's beats carry `catchup` (docs/protocol.md): the Python client must take them as beats.
        // A Python server's beats carry none: our client logs that once per provider, however many beats come.
        const beats = lab.lab.subscribe(
          lab.ns,
          "server-sub",
          `tcp://127.0.0.1:${PUB}`,
        );
        await rx.warmUpGone([site]);
        const beatsBefore = beatCount(beats.frames);

        const files = makeFiles("pair", SIZES);
        await drop([site], files);
        await rx.wait(files.keys(), "a file message for every file");
        await assertIntact(out, files);
        await waitGone(
          site.inDir,
          files.keys(),
          "served copies deleted after the push",
        );
        await assertDirHolds(out, files.keys());
        rx.assertOnce(files.keys());
        for (const msg of rx.files().filter((m) => files.has(uidOf(m)))) {
          assert.equal(msg.subject, TOPIC);
          assert.equal(
            msg.dataObject["uri"],
            join(out, uidOf(msg)),
            "published uri: the local path, as both clients write it for file://",
          );
        }
        if (!pyServer)
          await assertPythonTookBeats(beats.frames, client.outFile);
        else
          await assertCatchUpUnavailableOnce(beats.frames, beatsBefore, client);
      });
    },
  );
}

function beatCount(frames: readonly string[]): number {
  return frames
    .map((f) => Message.decode(Buffer.from(f)))
    .filter((m) => m.type === "beat").length;
}

/**
 * Two beats of the Python server came after the warm-up (when our client
 * already heard the server, so it got them too), and our client said once,
 * not per beat, that this provider offers no catch-up.
 */
async function assertCatchUpUnavailableOnce(
  frames: readonly string[],
  before: number,
  client: NsProcess,
): Promise<void> {
  await waitFor(
    () => beatCount(frames) >= before + 2,
    "two beats of the Python server after the warm-up",
    75_000,
  );
  const said = (await client.records()).filter(
    (r) => r.msg === "catch-up unavailable",
  );
  assert.equal(
    said.length,
    1,
    `"catch-up unavailable" logged ${said.length} times`,
  );
  assert.equal(said[0]?.["provider"], `127.0.0.1:${PUB}`);
}

/**
 * The beat our server sent (seen on the test's own subscriber) names the
 * chain's catch-up topic and request address, and the Python client's
 * listener received it as a beat (its debug line "Receiving (SUB)" shows the
 * decoded message, `catchup` included) and went on: no listener died.
 */
async function assertPythonTookBeats(
  frames: readonly string[],
  pythonOut: string,
): Promise<void> {
  const beat = await waitFor(
    () =>
      frames
        .map((f) => Message.decode(Buffer.from(f)))
        .find((m) => m.type === "beat"),
    "a beat of the move_it server on the test's subscriber",
    40_000,
  );
  assert.deepEqual(beat.dataObject["catchup"], [
    { topic: TOPIC, request_address: `127.0.0.1:${REQ}` },
  ]);
  const received = (text: string): boolean =>
    text
      .split("\n")
      .some(
        (l) =>
          l.includes("Receiving (SUB)") &&
          l.includes(" beat ") &&
          l.includes('"catchup"'),
      );
  const text = await waitFor(
    async () => {
      const t = await readFile(pythonOut, "utf8");
      return received(t) ? t : undefined;
    },
    "the Python client's debug line for a beat carrying catchup",
    40_000,
  );
  assert.doesNotMatch(
    text,
    /Listener died|Traceback/,
    "the Python client's listener survived our beats",
  );
}

for (const dir of [
  "python server → move_it mirror → Python client",
  "move_it server → Python mirror → move_it client",
] as const) {
  const pyServer = dir.startsWith("python");
  test(
    `interop/pairings - ${dir}: every file once, intact`,
    { skip, timeout: 150_000 },
    async (t) => {
      await inLab(t, pyServer ? "pytspy" : "tspyts", async (lab) => {
        const site = await makeSite(join(lab.dir, "site"));
        const stage = join(lab.dir, "stage");
        const out = join(lab.dir, "out");
        await mkdir(stage);
        await mkdir(out);
        const sIni = await ini(
          lab,
          "server.ini",
          labServerIni(TOPIC, site.inDir, REQ),
        );
        const mIni = await ini(
          lab,
          "mirror.ini",
          labMirrorIni(TOPIC, PUB, stage, MIRROR_REQ),
        );
        const cIni = await ini(
          lab,
          "client.ini",
          labClientIni(TOPIC, [MIRROR_PUB], out, CLIENT_PUB),
        );
        const [serverKind, mirrorKind] = pyServer
          ? (["python", "move_it"] as const)
          : (["move_it", "python"] as const);
        labServer(lab, serverKind, sIni, PUB);
        labMirror(lab, mirrorKind, mIni, MIRROR_PUB);
        labClient(lab, serverKind, cIni);
        const rx = await Republished.subscribe(
          lab,
          [PUB, MIRROR_PUB],
          CLIENT_PUB,
        );
        await warmUp([site], async (name) => rx.seen(name), 1500);

        const files = makeFiles("chain", SIZES);
        await drop([site], files);
        await rx.wait(
          files.keys(),
          "a file message for every file, through the mirror",
        );
        await assertIntact(out, files);
        await assertDirHolds(out, files.keys());
        rx.assertOnce(files.keys());
        await waitGone(
          stage,
          files.keys(),
          "staged copies removed by the mirror after the push",
        );
      });
    },
  );
}
