/**
 * move_it_req against the unchanged Python move_it_server, in a network
 * namespace with only `lo`: ping and info answered (exit 0), catchup
 * answered `unknown` (exit 1, said plainly), a port with nothing behind it
 * (exit 1), as a monitoring script would see them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import {
  drop,
  inLab,
  ini,
  makeFiles,
  makeSite,
  outputOf,
  skip,
} from "../helpers/interop-kit.js";
import { REPO_ROOT } from "../helpers/netns.js";
import type { InteropLab } from "../helpers/reference.js";
import { waitFor } from "../helpers/wait.js";

const PUB = 9010;
const REQ = 9201;
const TOPIC = "/interop/req";

let runs = 0;
async function req(
  lab: InteropLab,
  args: string[],
): Promise<{ code: string; out: string }> {
  const proc = lab.lab.spawnProgram(lab.ns, `req-${++runs}`, process.execPath, [
    join(REPO_ROOT, "bin", "move_it_req.js"),
    ...args,
  ]);
  const code = await proc.exited;
  return { code, out: await outputOf(proc) };
}

test(
  "interop/req - move_it_req against Python's move_it_server: ping and info exit 0, catchup unknown exits 1, no server exits 1",
  { skip, timeout: 150_000 },
  async (t) => {
    await inLab(t, "req", async (lab) => {
      const site = await makeSite(join(lab.dir, "site"));
      const sIni = await ini(
        lab,
        "server.ini",
        `[req]\norigin = ${site.inDir}/{name}.dat\ntopic = ${TOPIC}\nrequest_port = ${REQ}\nrequest_address = 127.0.0.1\nstation = pylab\n`,
      );
      lab.py("py-server", "move_it_server", ["-p", String(PUB), "-v", sIni]);
      await lab.reachable(REQ);
      const server = `127.0.0.1:${REQ}`;

      const ping = await waitFor(
        async () => {
          const r = await req(lab, ["ping", server, "--timeout", "3"]);
          return r.code === "0" ? r : undefined;
        },
        "a pong from the Python server",
        60_000,
      );
      assert.match(
        ping.out,
        new RegExp(
          `^pong from tcp://127\\.0\\.0\\.1:${REQ} in \\d+ ms: station pylab, not move_it \\(no catch-up\\)`,
        ),
      );
      const pj = await req(lab, ["--ping", server, "--json"]);
      assert.equal(pj.code, "0", pj.out);
      const pong = JSON.parse(pj.out) as {
        ok: boolean;
        moveIt: boolean;
        reply: { type: string; data: { station: string } };
      };
      assert.deepEqual(
        [pong.ok, pong.moveIt, pong.reply.type, pong.reply.data.station],
        [true, false, "pong", "pylab"],
      );

      const files = makeFiles("req", [10, 20]);
      await drop([site], files);
      const info = await waitFor(
        async () => {
          const r = await req(lab, [
            "info",
            TOPIC,
            server,
            "-v",
            "--timeout",
            "3",
          ]);
          // Python's watchdog observer sometimes reports one rename twice, and its
          // server then caches (and lists) that file twice: ask for both names, not a count.
          return r.code === "0" &&
            [...files.keys()].every((name) =>
              r.out.includes(`  ${TOPIC}/${name}\n`),
            )
            ? r
            : undefined;
        },
        "info listing both files",
        60_000,
      );
      assert.match(info.out, /: [2-4] file\(s\)/);
      assert.match(info.out, /max_count 2256, uptime \d+:\d\d:\d\d/);

      const cu = await req(lab, [
        "catchup",
        TOPIC,
        server,
        "--since",
        "1h",
        "--timeout",
        "3",
      ]);
      assert.equal(cu.code, "1", cu.out);
      assert.equal(
        cu.out,
        `tcp://127.0.0.1:${REQ} does not answer catchup (not a move_it server: Python trollmoves answers unknown)\n`,
      );

      const dead = await req(lab, ["ping", "127.0.0.1:9299", "--timeout", "1"]);
      assert.equal(dead.code, "1");
      assert.equal(
        dead.out,
        "no answer from tcp://127.0.0.1:9299 within 1 s\n",
      );
    });
  },
);
