/**
 * Mixed providers: a Python server and a move_it server announce the same
 * files (each from a directory of its own) to one client, move_it's or
 * Python's. The first announcement wins and is pushed; the other server gets
 * an `ack`: with `delete = True` both copies are gone once the file
 * arrived, and each file arrives, and is republished, exactly once. Then one
 * server is killed with SIGKILL (each kind in turn) and a second batch is
 * dropped at both sites: every file still arrives, once, from the survivor.
 */
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { NsProcess } from "../helpers/netns.js";
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

const PY_PUB = 9010;
const PY_REQ = 9201;
const TS_PUB = 9011;
const TS_REQ = 9202;
const CLIENT_PUB = 9030;
const TOPIC = "/interop/mixed";

const serverIni = (origin: string, reqPort: number): string =>
  `[interop]\norigin = ${origin}/{name}.dat\ntopic = ${TOPIC}\nrequest_port = ${reqPort}\nrequest_address = 127.0.0.1\ndelete = True\nremove_delay = 1\n`;

for (const [clientKind, victim] of [["move_it", "python"], ["python", "move_it"]] as const) {
  test(`interop/mixed - ${clientKind} client, a Python and a move_it provider: first wins, the other acked; ${victim} server killed, the other serves`, { skip, timeout: 180_000 }, async (t) => {
    await inLab(t, clientKind === "python" ? "mixpy" : "mixts", async (lab) => {
      const pySite = await makeSite(join(lab.dir, "py"));
      const tsSite = await makeSite(join(lab.dir, "ts"));
      const out = join(lab.dir, "out");
      await mkdir(out);
      const pyIni = await ini(lab, "py-server.ini", serverIni(pySite.inDir, PY_REQ));
      const tsIni = await ini(lab, "ts-server.ini", serverIni(tsSite.inDir, TS_REQ));
      const cIni = await ini(
        lab,
        "client.ini",
        `[interop]\nproviders = 127.0.0.1:${PY_PUB} 127.0.0.1:${TS_PUB}\ndestination = file://${out}/\ntopic = ${TOPIC}\npublish_port = ${CLIENT_PUB}\nnameservers = false\n`,
      );
      const pyServer = lab.py("py-server", "move_it_server", ["-p", String(PY_PUB), "--disable-backlog", "-v", pyIni]);
      const tsServer = lab.ours("ts-server", "server", [tsIni, "-p", String(TS_PUB), "--host", "127.0.0.1", "--disable-backlog", "--state-dir", join(lab.dir, "state"), "-v"]);
      if (clientKind === "python") lab.py("py-client", "move_it_client", ["-v", cIni]);
      else lab.ours("ts-client", "client", [cIni, "--host", "127.0.0.1", "-v"]);
      await lab.reachable(PY_PUB);
      await lab.reachable(TS_PUB);
      await lab.reachable(CLIENT_PUB);
      const sub = lab.lab.subscribe(lab.ns, "sub", `tcp://127.0.0.1:${CLIENT_PUB}`);
      const seen = (name: string): boolean => published(sub, "file").some((m) => uidOf(m) === name);
      const bothGone = async (name: string): Promise<boolean> => !(await exists(join(pySite.inDir, name))) && !(await exists(join(tsSite.inDir, name)));
      await warmUp([pySite, tsSite], async (name) => seen(name) && (await bothGone(name)));

      const first = makeFiles("both", [10, 5000, 70_000, 1 << 20, 123, 4567, 89_012, 300_000, 1, 2048]);
      await drop([pySite, tsSite], first);
      await waitPublished(sub, first.keys(), "every file of the first batch republished");
      await assertIntact(out, first);
      await waitGone(pySite.inDir, first.keys(), "the Python server's copies gone (pushed or acked)");
      await waitGone(tsSite.inDir, first.keys(), "the move_it server's copies gone (pushed or acked)");

      const [dead, alive]: [NsProcess, NsProcess] = victim === "python" ? [pyServer, tsServer] : [tsServer, pyServer];
      await lab.kill9(dead);
      const second = makeFiles("survivor", [17, 6000, 80_000, 2 << 20, 321, 7654]);
      await drop([pySite, tsSite], second);
      await waitPublished(sub, second.keys(), `every file of the second batch republished after the ${victim} server died`);
      await assertIntact(out, second);
      const survivorSite = alive === pyServer ? pySite : tsSite;
      await waitGone(survivorSite.inDir, second.keys(), "the survivor's copies pushed and deleted");

      const all = new Map([...first, ...second]);
      await assertDirHolds(out, all.keys());
      const counts = tally(published(sub, "file").map(uidOf));
      for (const name of all.keys()) assert.equal(counts.get(name), 1, `${name} published ${counts.get(name)} times`);
    });
  });
}
