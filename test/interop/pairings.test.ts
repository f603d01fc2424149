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
import {
  assertDirHolds,
  assertIntact,
  drop,
  exists,
  inLab,
  ini,
  makeFiles,
  makeSite,
  published,
  skip,
  tally,
  uidOf,
  waitGone,
  waitPublished,
  warmUp,
} from "../helpers/interop-kit.js";

const PUB = 9010;
const REQ = 9201;
const MIRROR_PUB = 9012;
const MIRROR_REQ = 9202;
const CLIENT_PUB = 9030;
const TOPIC = "/interop/pair";
const SIZES = [1, 999, 4096, 65_536, 200_001, 1 << 20, 3 << 20, 12_345];

function serverIni(origin: string, extra = ""): string {
  return `[interop]\norigin = ${origin}/{name}.dat\ntopic = ${TOPIC}\nrequest_port = ${REQ}\nrequest_address = 127.0.0.1\ndelete = True\nremove_delay = 1\n${extra}`;
}

function clientIni(providers: string, out: string, extra = ""): string {
  return `[interop]\nproviders = ${providers}\ndestination = file://${out}/\ntopic = ${TOPIC}\npublish_port = ${CLIENT_PUB}\nnameservers = false\n${extra}`;
}

for (const dir of ["python server → move_it client", "move_it server → Python client"] as const) {
  const pyServer = dir.startsWith("python");
  test(`interop/pairings - ${dir}: every file once, intact, republished, served copy deleted`, { skip, timeout: 150_000 }, async (t) => {
    await inLab(t, pyServer ? "pyts" : "tspy", async (lab) => {
      const site = await makeSite(join(lab.dir, "site"));
      const out = join(lab.dir, "out");
      await mkdir(out);
      const sIni = await ini(lab, "server.ini", serverIni(site.inDir));
      const cIni = await ini(lab, "client.ini", clientIni(`127.0.0.1:${PUB}`, out));
      if (pyServer) {
        lab.py("py-server", "move_it_server", ["-p", String(PUB), "--disable-backlog", "-v", sIni]);
        lab.ours("ts-client", "client", [cIni, "--host", "127.0.0.1", "-v"]);
      } else {
        lab.ours("ts-server", "server", [sIni, "-p", String(PUB), "--host", "127.0.0.1", "--disable-backlog", "--state-dir", join(lab.dir, "state"), "-v"]);
        lab.py("py-client", "move_it_client", ["-v", cIni]);
      }
      await lab.reachable(PUB);
      await lab.reachable(CLIENT_PUB);
      const sub = lab.lab.subscribe(lab.ns, "sub", `tcp://127.0.0.1:${CLIENT_PUB}`);
      const seen = (name: string) => published(sub, "file").some((m) => uidOf(m) === name);
      await warmUp([site], async (name) => seen(name) && !(await exists(join(site.inDir, name))));

      const files = makeFiles("pair", SIZES);
      await drop([site], files);
      await waitPublished(sub, files.keys(), "a file message for every file");
      await assertIntact(out, files);
      await waitGone(site.inDir, files.keys(), "served copies deleted after the push");
      await assertDirHolds(out, files.keys());
      const counts = tally(published(sub, "file").map(uidOf));
      for (const name of files.keys()) assert.equal(counts.get(name), 1, `${name} published ${counts.get(name)} times`);
      for (const msg of published(sub, "file").filter((m) => files.has(uidOf(m)))) {
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
      const sIni = await ini(lab, "server.ini", serverIni(site.inDir));
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
      const cIni = await ini(lab, "client.ini", clientIni(`127.0.0.1:${MIRROR_PUB}`, out));
      if (pyServer) {
        lab.py("py-server", "move_it_server", ["-p", String(PUB), "--disable-backlog", "-v", sIni]);
        lab.ours("ts-mirror", "mirror", [mIni, "-p", String(MIRROR_PUB), "--host", "127.0.0.1", "--state-dir", join(lab.dir, "mstate"), "-v"]);
        lab.py("py-client", "move_it_client", ["-v", cIni]);
      } else {
        lab.ours("ts-server", "server", [sIni, "-p", String(PUB), "--host", "127.0.0.1", "--disable-backlog", "--state-dir", join(lab.dir, "state"), "-v"]);
        lab.py("py-mirror", "move_it_mirror", ["-p", String(MIRROR_PUB), "-v", mIni]);
        lab.ours("ts-client", "client", [cIni, "--host", "127.0.0.1", "-v"]);
      }
      await lab.reachable(PUB);
      await lab.reachable(MIRROR_PUB);
      await lab.reachable(CLIENT_PUB);
      const sub = lab.lab.subscribe(lab.ns, "sub", `tcp://127.0.0.1:${CLIENT_PUB}`);
      await warmUp([site], async (name) => published(sub, "file").some((m) => uidOf(m) === name), 1500);

      const files = makeFiles("chain", SIZES);
      await drop([site], files);
      await waitPublished(sub, files.keys(), "a file message for every file, through the mirror");
      await assertIntact(out, files);
      await assertDirHolds(out, files.keys());
      const counts = tally(published(sub, "file").map(uidOf));
      for (const name of files.keys()) assert.equal(counts.get(name), 1, `${name} published ${counts.get(name)} times`);
      await waitGone(stage, files.keys(), "staged copies removed by the mirror after the push");
    });
  });
}
