/**
 * The EUMETCast data-exchange set-up of the trollmoves wiki, from
 * `config-examples/eumetcast-wiki/`, run with only directories, ports and
 * host names changed, and the gateways' `remove_delay` shortened (issue 11,
 * item 7):
 *
 *   TelliServ (move_it_server, xRITDecompress) ──► ProcServ (move_it_client, ftp:///)
 *        │
 *        └──► gateway A (move_it_mirror) ──► gateway B (move_it_mirror) ──► partner ProcServ (move_it_client)
 *
 * Every process runs in one network namespace with only `lo`, so the host
 * names of the files become 127.0.0.1 (or, where the files name no host,
 * this machine's name, which resolves to it) and the server's default
 * request address is usable. vsftpd listens on port 21 there, so
 * `ftp:///dir/` reaches it as written. `prog` points at the test stand-in
 * of xRITDecompress (test/fixtures/bin), a directory change.
 *
 * Compressed segments dropped where Tellicast writes them must arrive,
 * decompressed and intact, at both ProcServs, each announced there once; the
 * compressed originals and the gateways' staged copies are removed.
 *
 * The gateways stage through `ftp://` as the wiki's configs do, into the
 * lab's vsftpd. That server is anonymous and chrooted, so `/pub/gateway-a/`
 * over FTP is another directory on disk: the gateway sections get the one
 * line that says where (`staging_directory`, docs/mirror-staging.md), which
 * a gateway whose FTP login sees the real file system does not need.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  writeFile,
} from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { VSFTPD, ftpdSkip, ftpdTree } from "../helpers/ftpd.js";
import { probeUntil, published, runLab } from "../helpers/lab.js";
import {
  REPO_ROOT,
  netnsUnavailable,
  type NsSubscriber,
} from "../helpers/netns.js";
import { InteropLab } from "../helpers/reference.js";
import { waitFor } from "../helpers/wait.js";

const run = promisify(execFile);
const inCi = process.env["CI"] === "true";
const unavailable = (await netnsUnavailable()) ?? ftpdSkip();
const skip =
  unavailable !== undefined && !inCi
    ? `${unavailable} (with CI=true this fails instead)`
    : false;

const EXAMPLES = join(REPO_ROOT, "config-examples", "eumetcast-wiki");
const TELLI_PUB = 9010;
const TELLI_REQ = 9093;
const GW_A_PUB = 9110;
const GW_A_REQ = 9194;
const GW_B_PUB = 9210;
const GW_B_REQ = 9294;
const PROC_PUB = 9011;
const PARTNER_PUB = 9311;

/** The example file with each `[from, to]` replaced (every occurrence of `from` must be there). */
async function adapted(
  file: string,
  changes: readonly [string, string][],
): Promise<string> {
  let text = await readFile(join(EXAMPLES, file), "utf8");
  for (const [from, to] of changes) {
    assert.ok(text.includes(from), `${file} has ${from}`);
    text = text.split(from).join(to);
  }
  return text;
}

/** A compressed HRIT segment as Tellicast writes it: the stand-in decompressor drops its first line. */
function segment(
  channel: string,
  n: number,
): { name: string; packed: Buffer; unpacked: Buffer } {
  const name = `H-000-MSG4__-MSG4________-${channel.padEnd(9, "_")}-${String(n).padStart(6, "0")}___-202612010000-C_`;
  const body = Buffer.from(`${name} ${"x".repeat(1000 * n)}\n`);
  return {
    name,
    packed: Buffer.concat([Buffer.from("packed header\n"), body]),
    unpacked: body,
  };
}

test(
  "e2e/config-examples - the wiki's TelliServ, ProcServ and gateway configs move files end to end",
  { skip, timeout: 240_000 },
  async (t) => {
    const ftp = await ftpdTree();
    t.after(() => rm(ftp.dir, { recursive: true, force: true }));
    await runLab(
      t,
      "wiki",
      unavailable,
      () => InteropLab.create("wiki"),
      (l) => l.lab,
      async (wiki) => {
        const { lab, ns } = wiki;
        const reachable = (port: number): Promise<void> =>
          wiki.reachable(port, 30_000);
        lab.spawnProgram(ns, "vsftpd", VSFTPD, [
          await ftp.configure(21, 30_200),
        ]);
        await reachable(21);

        const d = (name: string): string => join(lab.dir, name);
        const dirs = {
          unpacked: d("telliserv/unpacked"),
          aside: d("telliserv/aside"),
          gwA: join(ftp.pub, "gateway-a"),
          gwB: join(ftp.pub, "gateway-b"),
        };
        for (const dir of Object.values(dirs))
          await mkdir(dir, { recursive: true });
        await mkdir(join(ftp.pub, "procserv"));
        await mkdir(join(ftp.pub, "partner"));
        // The FTP server writes as its `ftp` account; the gateways' servers read and delete there.
        await run("chmod", ["-R", "a+rwx", ftp.pub]);

        const server = await adapted("telliserv_server.ini", [
          ["/local_disk/eumetcast/received/unpacked/", `${dirs.unpacked}/`],
          [
            "/local_disk/eumetcast/opt/move_it/bin/",
            `${join(REPO_ROOT, "test", "fixtures", "bin")}/`,
          ],
          ["request_port = 9093", `request_port = ${TELLI_REQ}`],
        ]);
        const client = (providerPort: number, dir: string, pub: number) =>
          adapted("procserv_client.ini", [
            ["telliserv:9010", `127.0.0.1:${providerPort}`],
            ["ftp:///local_disk/data/hrit/0deg/", `ftp:///pub/${dir}/`],
            ["publish_port = 9011", `publish_port = ${pub}`],
          ]);
        // Staged through the lab's chrooted FTP server: its /pub/<staging>/ is <stagingDir> on disk.
        // A staged copy is removed remove_delay after its push: 1 s here, not the default 30 s the test waited out.
        const gateway = async (
          file: string,
          from: string,
          staging: string,
          stagingDir: string,
          provider: [string, number],
          addr: string,
          req: number,
        ) =>
          (await adapted(file, [
            [provider[0], `127.0.0.1:${provider[1]}`],
            [
              `ftp://gateway${from}`,
              `ftp://127.0.0.1/pub/${staging}/\nstaging_directory = ${stagingDir}/`,
            ],
            [`origin = ${from}`, `origin = ${stagingDir}/`],
            [`request_address = ${addr}`, "request_address = 127.0.0.1"],
            ["request_port = 9094", `request_port = ${req}`],
          ])) + "remove_delay = 1\n";
        const gwAText = gateway(
          "gateway_local_mirror.ini",
          "/local_disk/gateway/hrit/0deg/",
          "gateway-a",
          dirs.gwA,
          ["telliserv:9010", TELLI_PUB],
          "gateway.site-a.example.org",
          GW_A_REQ,
        );
        const gwBText = gateway(
          "gateway_remote_mirror.ini",
          "/local_disk/gateway/partner/hrit/0deg/",
          "gateway-b",
          dirs.gwB,
          ["gateway.site-a.example.org:9010", GW_A_PUB],
          "gateway.site-b.example.org",
          GW_B_REQ,
        );

        const files: Record<string, string> = {
          "telliserv.ini": server,
          "procserv.ini": await client(TELLI_PUB, "procserv", PROC_PUB),
          "gateway-a.ini": await gwAText,
          "gateway-b.ini": await gwBText,
          "partner.ini": await client(GW_B_PUB, "partner", PARTNER_PUB),
        };
        for (const [name, text] of Object.entries(files))
          await writeFile(join(lab.dir, name), text);
        const cfg = (name: string): string => join(lab.dir, name);
        lab.startCommand(ns, "telliserv", "server", cfg("telliserv.ini"), [
          "--disable-backlog",
          "--state-dir",
          d("state-telliserv"),
          "-v",
        ]);
        lab.startCommand(ns, "gateway-a", "mirror", cfg("gateway-a.ini"), [
          "-p",
          String(GW_A_PUB),
          "--state-dir",
          d("state-gwa"),
          "-v",
        ]);
        lab.startCommand(ns, "gateway-b", "mirror", cfg("gateway-b.ini"), [
          "-p",
          String(GW_B_PUB),
          "--state-dir",
          d("state-gwb"),
          "-v",
        ]);
        lab.startCommand(ns, "procserv", "client", cfg("procserv.ini"), [
          "--state-dir",
          d("state-procserv"),
          "-v",
        ]);
        lab.startCommand(ns, "partner", "client", cfg("partner.ini"), [
          "--state-dir",
          d("state-partner"),
          "-v",
        ]);
        for (const port of [
          TELLI_PUB,
          GW_A_PUB,
          GW_B_PUB,
          PROC_PUB,
          PARTNER_PUB,
        ])
          await reachable(port);
        const subs = {
          procserv: lab.subscribe(
            ns,
            "sub-procserv",
            `tcp://127.0.0.1:${PROC_PUB}`,
          ),
          partner: lab.subscribe(
            ns,
            "sub-partner",
            `tcp://127.0.0.1:${PARTNER_PUB}`,
          ),
        };

        const dropSegments = async (
          segs: ReturnType<typeof segment>[],
        ): Promise<void> => {
          for (const s of segs)
            await writeFile(join(dirs.aside, s.name), s.packed);
          for (const s of segs)
            await rename(join(dirs.aside, s.name), join(dirs.unpacked, s.name));
        };
        const arrived = (sub: NsSubscriber, uid: string): boolean =>
          published(sub, "file").some((m) => m.dataObject["uid"] === uid);
        // Every subscription along the chain is in place once a probe segment reaches both ends.
        const sendProbe = async (i: number): Promise<string> => {
          const p = segment("PROBE", i + 1);
          await dropSegments([p]);
          return p.name.replace(/C_$/, "__");
        };
        await probeUntil(
          sendProbe,
          (uid) => arrived(subs.procserv, uid) && arrived(subs.partner, uid),
          4000,
          120_000,
        );

        const segs = ["IR_108", "VIS006", "WV_062", "HRV"].flatMap((ch) =>
          [1, 2, 3].map((n) => segment(ch, n)),
        );
        await dropSegments(segs);
        const uids = segs.map((s) => s.name.replace(/C_$/, "__"));
        for (const [where, sub] of Object.entries(subs)) {
          await waitFor(
            () => uids.every((u) => arrived(sub, u)),
            `${where}: every segment announced`,
            120_000,
          );
          const dir = join(ftp.pub, where);
          for (const s of segs) {
            const uid = s.name.replace(/C_$/, "__");
            assert.deepEqual(
              await readFile(join(dir, uid)),
              s.unpacked,
              `${where}: ${uid} decompressed and intact`,
            );
            const msgs = published(sub, "file").filter(
              (m) => m.dataObject["uid"] === uid,
            );
            assert.equal(msgs.length, 1, `${where}: ${uid} announced once`);
            // ftp:/// names this machine: the published uri is the path, as the Python client writes it.
            assert.equal(msgs[0]!.dataObject["uri"], `/pub/${where}/${uid}`);
          }
        }
        // The compressed originals are gone (delete = True), and the gateways' staged copies once pushed.
        await waitFor(
          async () =>
            (await readdir(dirs.unpacked)).every((n) => !n.endsWith("C_")),
          "compressed segments removed at TelliServ",
          30_000,
        );
        for (const dir of [dirs.gwA, dirs.gwB]) {
          await waitFor(
            async () =>
              (await readdir(dir)).filter((n) => uids.includes(n)).length === 0,
            `staged copies removed from ${dir}`,
            120_000,
          );
        }
        t.diagnostic(`host ${hostname()}; gateways staged through ftp://`);
      },
    );
  },
);
