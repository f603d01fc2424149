/**
 * move_it_mirror staging through a network destination, as the wiki's
 * gateway configs do (`destination = ftp://host/dir/`), with bin/ processes,
 * a real sshd and a real vsftpd on 127.0.0.1:
 *
 *   move_it_server → move_it_mirror (stages via sftp / scp / ftp) → move_it_client
 *
 * The upstream server uploads each requested file to the staging URL; the
 * mirror serves it downstream from this machine's view of that directory
 * (the URL's path for ssh, `staging_directory` for the chrooted FTP server).
 * The mirror is killed with
 * SIGKILL while files are on their way and restarted: every file reaches
 * the client once (counted by inotifywait), intact, and every staged copy
 * is deleted after its push, those the killed mirror staged too.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { DeliveryCounter, sha256 } from "../helpers/fleet.js";
import { ftpdSkip, startFtpd } from "../helpers/ftpd.js";
import { freePort } from "../helpers/net.js";
import { runCommand, waitForLog, type Proc } from "../helpers/procs.js";
import { sshdSkip, startSshd } from "../helpers/sshd.js";
import { tempDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { requireBinary, skipUnless } from "../helpers/daemon.js";

const INOTIFYWAIT = "/usr/bin/inotifywait";
const skip = skipUnless(INOTIFYWAIT, "inotify-tools") ?? sshdSkip() ?? ftpdSkip();
const FILES = 8;

interface Staging {
  /** The mirror's `destination`. */
  destination: string;
  /** Where the staged files are on disk. */
  dir: string;
  /** More mirror lines. */
  extra: string;
  /** More upstream server lines (credentials for the upload). */
  serverExtra: string;
}

async function relay(t: TestContext, stagingFor: (work: string) => Promise<Staging>): Promise<void> {
  requireBinary(INOTIFYWAIT, "inotify-tools");
  const work = await tempDir(t, "move_it-mstage-");
  await chmod(work, 0o755);
  const [inDir, aside, out] = ["in", "aside", "out"].map((d) => join(work, d)) as [string, string, string];
  for (const d of [inDir, aside, out]) await mkdir(d);
  const staging = await stagingFor(work);
  const [sPub, sReq, mPub, mReq] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const sIni = join(work, "s.ini");
  await writeFile(sIni, `[up]\norigin = ${inDir}/{name}.dat\ntopic = /up/data\nrequest_port = ${sReq}\nrequest_address = 127.0.0.1\n${staging.serverExtra}`);
  const mIni = join(work, "m.ini");
  await writeFile(
    mIni,
    `[gw]\nproviders = 127.0.0.1:${sPub}\nclient_topic = /up/data\ndestination = ${staging.destination}\n${staging.extra}` +
      `origin = ${staging.dir}/{name}.dat\ntopic = /gw/data\nrequest_port = ${mReq}\nrequest_address = 127.0.0.1\npublish_port = 0\nnameservers = false\n` +
      `delete = True\nremove_delay = 1\ntransfer_req_timeout = 20\n`,
  );
  const cIni = join(work, "c.ini");
  await writeFile(cIni, `[down]\nproviders = 127.0.0.1:${mPub}\ndestination = file://${out}/\ntopic = /gw/data\npublish_port = 0\nnameservers = false\ntransfer_req_timeout = 20\n`);
  let runs = 0;
  const run = async (cmd: "move_it_server" | "move_it_client" | "move_it_mirror", args: string[], ready: string): Promise<Proc> => {
    const log = join(work, `${cmd}-${++runs}.log`);
    const proc = runCommand(t, cmd, [...args, "--host", "127.0.0.1", "-l", log]);
    await waitForLog(log, ready);
    return proc;
  };
  const startMirror = (): Promise<Proc> => run("move_it_mirror", ["-v", mIni, "-p", String(mPub), "--state-dir", join(work, "m-state")], "mirror started");
  await run("move_it_server", [sIni, "-p", String(sPub), "--state-dir", join(work, "s-state")], "server started");
  let mirror = await startMirror();
  await run("move_it_client", ["-v", cIni, "--state-dir", join(work, "c-state")], "chain started");
  const counter = new DeliveryCounter(t, out);
  await counter.started();

  const dropped = new Map<string, string>();
  const drop = async (name: string, bytes: number): Promise<void> => {
    const body = randomBytes(bytes);
    dropped.set(name, sha256(body));
    await writeFile(join(aside, name), body);
    await rename(join(aside, name), join(inDir, name));
  };
  const delivered = async (): Promise<string[]> => (await readdir(out)).filter((n) => !n.startsWith(".") && !n.endsWith(".part"));
  // Warm up: the subscriptions on both hops are in place once a probe arrives.
  for (let i = 0; !(await delivered()).some((n) => n.startsWith("probe-")); i++) {
    assert.ok(i < 60, "no probe got through the mirror");
    await drop(`probe-${i}.dat`, 10);
    await waitFor(async () => (await delivered()).some((n) => n.startsWith("probe-")), "probe", 1000).catch(() => undefined);
  }

  for (let i = 0; i < FILES; i++) await drop(`f-${String(i).padStart(2, "0")}.dat`, 1_000_000 + i * 100_003);
  // Some files are through, the others on their way: kill the mirror there.
  await waitFor(async () => (await delivered()).some((n) => n.startsWith("f-")), "a first file through the mirror", 60_000);
  mirror.child.kill("SIGKILL");
  await mirror.exited;
  const before = (await delivered()).filter((n) => n.startsWith("f-")).length;
  t.diagnostic(`${before} of ${FILES} files delivered when the mirror was killed`);
  assert.ok(before < FILES, "the kill came after every file was through: nothing was in flight");
  mirror = await startMirror();

  await waitFor(async () => {
    const have = new Set(await delivered());
    return [...dropped.keys()].every((n) => have.has(n));
  }, "every file delivered after the restart", 120_000).catch(async (err: unknown) => {
    // What went wrong, from every log's warnings and errors.
    const have = new Set(await delivered());
    const missing = [...dropped.keys()].filter((n) => !have.has(n));
    for (const f of (await readdir(work)).filter((n) => n.endsWith(".log"))) {
      const lines = (await readFile(join(work, f), "utf8")).split("\n").filter((l) => missing.some((m) => l.includes(m)) || /"level":50/.test(l));
      t.diagnostic(`${f}: ${lines.slice(-12).map((l) => l.replace(/"stack":"[^"]*",?/g, "")).join("\n")}`);
    }
    throw new Error(`${(err as Error).message}: missing ${[...dropped.keys()].filter((n) => !have.has(n)).join(", ")}`);
  });
  for (const [name, sum] of dropped) assert.equal(sha256(await readFile(join(out, name))), sum, `${name} intact`);
  await waitFor(() => [...dropped.keys()].every((n) => counter.counts.has(n)), "every rename seen", 10_000);
  assert.deepEqual(counter.twice(), [], "delivered more than once");
  // Every staged copy is deleted remove_delay (1 s) after its push, those of the killed mirror too.
  const staged = async (): Promise<string[]> => (await readdir(staging.dir)).filter((n) => !n.startsWith("."));
  await waitFor(async () => (await staged()).length === 0, "the staging directory emptied", 30_000).catch(async (err: unknown) => {
    throw new Error(`${(err as Error).message}: left ${(await staged()).join(", ")}`);
  });
}

for (const scheme of ["sftp", "scp"] as const) {
  test(`e2e/mirror-remote-staging - staging through ${scheme}://: every file once and intact across a kill -9 of the mirror`, { skip, timeout: 240_000 }, async (t) => {
    const sshd = await startSshd();
    t.after(() => sshd.stop());
    await relay(t, async (work) => {
      const dir = join(work, "stage");
      return {
        destination: `${scheme}://root@${sshd.host}:${sshd.port}${dir}/`,
        dir,
        extra: "",
        serverExtra: `connection_parameters__ssh_key_filename = ${sshd.clientKey}\nconnection_parameters__known_hosts = ${sshd.knownHosts}\n`,
      };
    });
  });
}

test("e2e/mirror-remote-staging - staging through ftp:// (a chrooted FTP server, staging_directory): every file once and intact across a kill -9 of the mirror", { skip, timeout: 240_000 }, async (t) => {
  const ftpd = await startFtpd({ passwords: ["gw-pw"] });
  t.after(() => ftpd.stop());
  await relay(t, async () => {
    const dir = join(ftpd.pub, "stage");
    await mkdir(dir);
    const { stat } = await import("node:fs/promises");
    const owner = await stat(ftpd.pub);
    await chown(dir, owner.uid, owner.gid);
    return { destination: `ftp://anonymous:gw-pw@${ftpd.host}:${ftpd.port}/pub/stage/`, dir, extra: `staging_directory = ${dir}\n`, serverExtra: "" };
  });
});
