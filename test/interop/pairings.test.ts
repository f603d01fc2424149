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
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { Republished, assertDirHolds, assertIntact, drop, exists, inLab, ini, labClient, labClientIni, labMirror, labServer, labServerIni, makeFiles, makeSite, skip, uidOf, waitGone, warmUp } from "../helpers/interop-kit.js";

const PUB = 9010;
const REQ = 9201;
const MIRROR_PUB = 9012;
const MIRROR_REQ = 9202;
const CLIENT_PUB = 9030;
const TOPIC = "/interop/pair";
const SIZES = [1, 999, 4096, 65_536, 200_001, 1 << 20, 3 << 20, 12_345];

for (const dir of ["python server → move_it client", "move_it server → Python client"] as const) {
  const pyServer = dir.startsWith("python");
  test(`interop/pairings - ${dir}: every file once, intact, republished, served copy deleted`, { skip, timeout: 150_000 }, async (t) => {
    await inLab(t, pyServer ? "pyts" : "tspy", async (lab) => {
      const site = await makeSite(join(lab.dir, "site"));
      const out = join(lab.dir, "out");
      await mkdir(out);
      const sIni = await ini(lab, "server.ini", labServerIni(TOPIC, site.inDir, REQ));
      const cIni = await ini(lab, "client.ini", labClientIni(TOPIC, [PUB], out, CLIENT_PUB));
      labServer(lab, pyServer ? "python" : "move_it", sIni, PUB);
      labClient(lab, pyServer ? "move_it" : "python", cIni);
      const rx = await Republished.subscribe(lab, [PUB], CLIENT_PUB);
      await warmUp([site], async (name) => rx.seen(name) && !(await exists(join(site.inDir, name))));

      const files = makeFiles("pair", SIZES);
      await drop([site], files);
      await rx.wait(files.keys(), "a file message for every file");
      await assertIntact(out, files);
      await waitGone(site.inDir, files.keys(), "served copies deleted after the push");
      await assertDirHolds(out, files.keys());
      rx.assertOnce(files.keys());
      for (const msg of rx.files().filter((m) => files.has(uidOf(m)))) {
        assert.equal(msg.subject, TOPIC);
        assert.equal(msg.dataObject["uri"], join(out, uidOf(msg)), "published uri: the local path, as both clients write it for file://");
      }
    });
  });
}

for (const dir of ["python server → move_it mirror → Python client", "move_it server → Python mirror → move_it client"] as const) {
  const pyServer = dir.startsWith("python");
  test(`interop/pairings - ${dir}: every file once, intact`, { skip, timeout: 150_000 }, async (t) => {
    await inLab(t, pyServer ? "pytspy" : "tspyts", async (lab) => {
      const site = await makeSite(join(lab.dir, "site"));
      const stage = join(lab.dir, "stage");
      const out = join(lab.dir, "out");
      await mkdir(stage);
      await mkdir(out);
      const sIni = await ini(lab, "server.ini", labServerIni(TOPIC, site.inDir, REQ));
      const mIni = await ini(
        lab,
        "mirror.ini",
        [
          "[interop]",
          `providers = 127.0.0.1:${PUB}`,
          `client_topic = ${TOPIC}`,
          `destination = file://${stage}/`,
          `origin = ${stage}/{name}.dat`,
          `topic = ${TOPIC}`,
          `request_port = ${MIRROR_REQ}`,
          "request_address = 127.0.0.1",
          "publish_port = 0",
          "delete = True",
          "remove_delay = 1",
          "",
        ].join("\n"),
      );
      const cIni = await ini(lab, "client.ini", labClientIni(TOPIC, [MIRROR_PUB], out, CLIENT_PUB));
      const [serverKind, mirrorKind] = pyServer ? (["python", "move_it"] as const) : (["move_it", "python"] as const);
      labServer(lab, serverKind, sIni, PUB);
      labMirror(lab, mirrorKind, mIni, MIRROR_PUB);
      labClient(lab, serverKind, cIni);
      const rx = await Republished.subscribe(lab, [PUB, MIRROR_PUB], CLIENT_PUB);
      await warmUp([site], async (name) => rx.seen(name), 1500);

      const files = makeFiles("chain", SIZES);
      await drop([site], files);
      await rx.wait(files.keys(), "a file message for every file, through the mirror");
      await assertIntact(out, files);
      await assertDirHolds(out, files.keys());
      rx.assertOnce(files.keys());
      await waitGone(stage, files.keys(), "staged copies removed by the mirror after the push");
    });
  });
}
