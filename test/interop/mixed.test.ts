/**
 * Mixed providers: a Python server and a move_it server announce the same
 * files (each from a directory of its own) to one client, move_it's or
 * Python's. The first announcement wins and is pushed; the other server gets
 * an `ack`: with `delete = True` both copies are gone once the file
 * arrived, and each file arrives, and is republished, exactly once. Then one
 * server is killed with SIGKILL (each kind in turn) and a second batch is
 * dropped at both sites: every file still arrives, once, from the survivor.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { NsProcess } from "../helpers/netns.js";
import {
  Republished,
  assertDirHolds,
  assertIntact,
  drop,
  inLab,
  ini,
  labClient,
  labClientIni,
  labServer,
  labServerIni,
  makeFiles,
  makeSite,
  skip,
  waitGone,
} from "../helpers/interop-kit.js";

const PY_PUB = 9010;
const PY_REQ = 9201;
const TS_PUB = 9011;
const TS_REQ = 9202;
const CLIENT_PUB = 9030;
const TOPIC = "/interop/mixed";

for (const [clientKind, victim] of [
  ["move_it", "python"],
  ["python", "move_it"],
] as const) {
  test(
    `interop/mixed - ${clientKind} client, a Python and a move_it provider: first wins, the other acked; ${victim} server killed, the other serves`,
    { skip, timeout: 180_000 },
    async (t) => {
      await inLab(
        t,
        clientKind === "python" ? "mixpy" : "mixts",
        async (lab) => {
          const pySite = await makeSite(join(lab.dir, "py"));
          const tsSite = await makeSite(join(lab.dir, "ts"));
          const out = join(lab.dir, "out");
          await mkdir(out);
          const pyServer = labServer(
            lab,
            "python",
            await ini(
              lab,
              "py-server.ini",
              labServerIni(TOPIC, pySite.inDir, PY_REQ),
            ),
            PY_PUB,
          );
          const tsServer = labServer(
            lab,
            "move_it",
            await ini(
              lab,
              "ts-server.ini",
              labServerIni(TOPIC, tsSite.inDir, TS_REQ),
            ),
            TS_PUB,
          );
          labClient(
            lab,
            clientKind,
            await ini(
              lab,
              "client.ini",
              labClientIni(TOPIC, [PY_PUB, TS_PUB], out, CLIENT_PUB),
            ),
          );
          const rx = await Republished.subscribe(
            lab,
            [PY_PUB, TS_PUB],
            CLIENT_PUB,
          );
          await rx.warmUpGone([pySite, tsSite]);

          const first = makeFiles("both", [
            10,
            5000,
            70_000,
            1 << 20,
            123,
            4567,
            89_012,
            300_000,
            1,
            2048,
          ]);
          await drop([pySite, tsSite], first);
          await rx.wait(
            first.keys(),
            "every file of the first batch republished",
          );
          await assertIntact(out, first);
          await waitGone(
            pySite.inDir,
            first.keys(),
            "the Python server's copies gone (pushed or acked)",
          );
          await waitGone(
            tsSite.inDir,
            first.keys(),
            "the move_it server's copies gone (pushed or acked)",
          );

          const [dead, alive]: [NsProcess, NsProcess] =
            victim === "python" ? [pyServer, tsServer] : [tsServer, pyServer];
          await lab.kill9(dead);
          const second = makeFiles("survivor", [
            17,
            6000,
            80_000,
            2 << 20,
            321,
            7654,
          ]);
          await drop([pySite, tsSite], second);
          await rx.wait(
            second.keys(),
            `every file of the second batch republished after the ${victim} server died`,
          );
          await assertIntact(out, second);
          const survivorSite = alive === pyServer ? pySite : tsSite;
          await waitGone(
            survivorSite.inDir,
            second.keys(),
            "the survivor's copies pushed and deleted",
          );

          const all = new Map([...first, ...second]);
          await assertDirHolds(out, all.keys());
          rx.assertOnce(all.keys());
        },
      );
    },
  );
}
