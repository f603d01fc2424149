/**
 * The server's journal of remote temporaries (RemoteTemporaries on a real
 * ledger in a temp state dir, the real movers) against a real vsftpd and a
 * real sshd on 127.0.0.1: a remote whose login fails keeps its rows, and the
 * next push there (with the URL's password) removes them; what an upload of
 * this process left is removed before the next push to that remote, while a
 * temporary whose upload still runs is never touched.
 */
import assert from "node:assert/strict";
import { chmod, mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import {
  loadConfig,
  type ServerChainConfig,
} from "../../../src/config/index.js";
import { defaultMovers } from "../../../src/movers/registry.js";
import { ServerLedger } from "../../../src/server/ledger.js";
import { RemoteTemporaries } from "../../../src/server/temporaries.js";
import { parseUrl } from "../../../src/util/url.js";
import { closedPort } from "../../helpers/daemon.js";
import { ftpdSkip, startFtpd } from "../../helpers/ftpd.js";
import { captureLog } from "../../helpers/mover-kit.js";
import { sshdSkip, startSshd } from "../../helpers/sshd.js";
import { tempDir } from "../../helpers/tmp.js";
import { waitFor } from "../../helpers/wait.js";

/** A journal on a fresh ledger, for chain `up` configured by `extra` lines (on the clock `now`, if given). */
async function journal(
  t: TestContext,
  extra = "",
  now?: () => number,
): Promise<{
  temporaries: RemoteTemporaries;
  ledger: ServerLedger;
  records: ReturnType<typeof captureLog>["records"];
  dir: string;
}> {
  const dir = await tempDir(t, "move_it-rtemp-");
  const { log, records } = captureLog();
  const ledger = ServerLedger.open(join(dir, "state"), log);
  const movers = defaultMovers();
  const config = loadConfig(
    `[up]\norigin = ${dir}/in/{name}\ntopic = /up\n${extra}`,
    "server",
  );
  const chain = (name: string): ServerChainConfig | undefined =>
    config.chains.find((c) => c.name === name);
  const temporaries = new RemoteTemporaries({
    ledger,
    movers,
    chain,
    log,
    now,
  });
  t.after(async () => {
    await temporaries.close();
    await movers.close();
    ledger.close();
  });
  return { temporaries, ledger, records, dir };
}

function rows(ledger: ServerLedger, port: number, scheme: string): string[] {
  return ledger.temporariesOn(scheme, "127.0.0.1", port).map((r) => r.path);
}

test(
  "server/temporaries - a remote that refuses the login keeps its rows (warned); the next push there, with the URL's password, removes them",
  { skip: ftpdSkip() },
  async (t) => {
    // Only the URL's password logs in: the clean-up at start (anonymous@, no URL) is refused.
    const ftpd = await startFtpd({ passwords: ["only-in-the-url"] });
    t.after(() => ftpd.stop());
    const { temporaries, ledger, records } = await journal(t);
    await writeFile(join(ftpd.pub, ".left.dat.1.x.part"), "partial");
    const tmp = {
      scheme: "ftp",
      host: "127.0.0.1",
      port: ftpd.port,
      user: "anonymous",
      path: "/pub/.left.dat.1.x.part",
      final: "/pub/left.dat",
    };
    await ledger.noteTemporary({
      ...tmp,
      chain: "up",
      destination: `ftp://anonymous@127.0.0.1:${ftpd.port}/pub/left.dat`,
      notedAt: Date.now(),
    });

    temporaries.start();
    const warned = await waitFor(
      () =>
        records.find(
          (r) =>
            r.msg === "remote temporaries not removed, kept for the next try",
        ),
      "the refused clean-up warned",
    );
    assert.match(JSON.stringify(warned["err"]), /authentication failed/);
    assert.deepEqual(
      rows(ledger, ftpd.port, "ftp"),
      [tmp.path],
      "the row is kept",
    );
    assert.deepEqual(await readdir(ftpd.pub), [".left.dat.1.x.part"]);

    await temporaries.beforePush(
      parseUrl(`ftp://anonymous:only-in-the-url@127.0.0.1:${ftpd.port}/pub/`),
    );
    assert.deepEqual(
      await readdir(ftpd.pub),
      [],
      "removed with the pushed URL's password",
    );
    ledger.flush();
    assert.deepEqual(rows(ledger, ftpd.port, "ftp"), []);
    assert.ok(
      !JSON.stringify(records).includes("only-in-the-url"),
      "no password in the log",
    );
  },
);

test(
  "server/temporaries - what an upload of this process left is removed before the next push to that remote; a running upload's temporary is not",
  { skip: sshdSkip() },
  async (t) => {
    const sshd = await startSshd();
    t.after(() => sshd.stop());
    const { temporaries, ledger, dir } = await journal(
      t,
      `connection_parameters__ssh_key_filename = ${sshd.clientKey}\nconnection_parameters__known_hosts = ${sshd.knownHosts}\n`,
    );
    const remote = join(dir, "remote");
    await mkdir(remote);
    await chmod(dir, 0o755);
    const dest = parseUrl(`sftp://root@127.0.0.1:${sshd.port}${remote}/`);
    const at = (
      name: string,
    ): {
      scheme: string;
      host: string;
      port: number;
      user: string;
      path: string;
      final: string;
    } => ({
      scheme: "sftp",
      host: "127.0.0.1",
      port: sshd.port,
      user: "root",
      path: join(remote, `.${name}.1.x.part`),
      final: join(remote, name),
    });

    // One push whose upload died (its temporary stays, never struck off), one still uploading.
    const dead = temporaries.forPush("up", dest)!;
    const running = temporaries.forPush("up", dest)!;
    await dead.note(at("dead.dat"));
    await running.note(at("running.dat"));
    await writeFile(at("dead.dat").path, "partial");
    await writeFile(at("running.dat").path, "growing");
    dead.settled();

    await temporaries.beforePush(dest);
    assert.deepEqual(
      await readdir(remote),
      [".running.dat.1.x.part"],
      "the dead upload's temporary removed, the running one's kept",
    );
    ledger.flush();
    assert.deepEqual(rows(ledger, sshd.port, "sftp"), [at("running.dat").path]);

    // The running upload renames its temporary into place: struck off, nothing left to clean.
    running.gone(at("running.dat"));
    running.settled();
    ledger.flush();
    assert.deepEqual(rows(ledger, sshd.port, "sftp"), []);
  },
);

test("server/temporaries - rows older than their chain's ledger_retention are given up (warned, at start and before a push), younger ones kept", async (t) => {
  // No ftp server: the remote never comes back, each clean-up is refused at connect.
  const port = await closedPort();
  let now = Date.UTC(2026, 0, 10);
  const hour = 3_600_000;
  const { temporaries, ledger, records } = await journal(
    t,
    "ledger_retention = 3600\n",
    () => now,
  );
  const note = (chain: string, name: string, age: number): Promise<void> =>
    ledger.noteTemporary({
      scheme: "ftp",
      host: "127.0.0.1",
      port,
      user: "anonymous",
      path: `/pub/.${name}.1.x.part`,
      final: `/pub/${name}`,
      chain,
      destination: `ftp://anonymous@127.0.0.1:${port}/pub/${name}`,
      notedAt: now - age,
    });
  await note("up", "old.dat", 2 * hour); // past up's 1 h
  await note("up", "young.dat", hour / 2);
  // A chain no longer configured: the default retention (7 days).
  await note("gone", "days.dat", 48 * hour);
  await note("gone", "weeks.dat", 8 * 24 * hour);
  const givenUp = (): unknown[] =>
    records
      .filter((r) => String(r.msg).startsWith("remote temporary given up"))
      .map((r) => [r.level, r["chain"], r["remote"], r["user"], r["path"]]);
  const left = (): string[] => {
    ledger.flush();
    return rows(ledger, port, "ftp");
  };

  temporaries.start();
  assert.deepEqual(left(), [
    "/pub/.days.dat.1.x.part",
    "/pub/.young.dat.1.x.part",
  ]);
  const remote = `ftp://127.0.0.1:${port}/`;
  assert.deepEqual(givenUp(), [
    [40, "gone", remote, "anonymous", "/pub/.weeks.dat.1.x.part"],
    [40, "up", remote, "anonymous", "/pub/.old.dat.1.x.part"],
  ]);
  // One clean-up per login (user and chain): both refused.
  await waitFor(
    () =>
      records.filter(
        (r) =>
          r.msg === "remote temporaries not removed, kept for the next try",
      ).length === 2,
    "the start's clean-ups refused",
  );

  // An hour on, the young row is past the retention too: the next push there gives it up before trying.
  now += hour;
  await temporaries.beforePush(
    parseUrl(`ftp://anonymous:pushed-pw@127.0.0.1:${port}/pub/`),
  );
  assert.deepEqual(left(), ["/pub/.days.dat.1.x.part"]);
  assert.deepEqual(givenUp().at(-1), [
    40,
    "up",
    remote,
    "anonymous",
    "/pub/.young.dat.1.x.part",
  ]);
  assert.equal(givenUp().length, 3);
  assert.ok(!JSON.stringify(records).includes("pushed-pw"));
});
