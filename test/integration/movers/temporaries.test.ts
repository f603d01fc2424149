/**
 * The network movers' journal of remote temporaries, against a real sshd
 * and a real vsftpd on 127.0.0.1: each temporary is noted before it exists
 * on the remote and struck off once it is renamed into place; one an
 * aborted upload leaves stays noted, and `removeTemporaries` removes it
 * (logging in as the push did), counting a path that is not there as gone.
 */
import assert from "node:assert/strict";
import { watch } from "node:fs";
import { chmod, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FtpMover } from "../../../src/movers/ftp.js";
import type {
  CleanupRequest,
  Mover,
  RemoteTemporary,
  TemporaryJournal,
} from "../../../src/movers/mover.js";
import { SftpMover } from "../../../src/movers/sftp.js";
import { parseUrl } from "../../../src/util/url.js";
import { closedPort } from "../../helpers/daemon.js";
import { ftpdSkip, startFtpd, type FtpdServer } from "../../helpers/ftpd.js";
import {
  captureLog,
  randomFile,
  request,
  sha256File,
  tempDir,
} from "../../helpers/mover-kit.js";
import { sshdSkip, startSshd, type SshdServer } from "../../helpers/sshd.js";

/** A journal that records its calls; `seen` says what the remote directory held when each note came. */
function recordingJournal(onDisk: string): TemporaryJournal & {
  noted: RemoteTemporary[];
  struck: RemoteTemporary[];
  seen: string[][];
} {
  const j = {
    noted: [] as RemoteTemporary[],
    struck: [] as RemoteTemporary[],
    seen: [] as string[][],
    async note(tmp: RemoteTemporary): Promise<void> {
      j.seen.push(await readdir(onDisk));
      j.noted.push(tmp);
    },
    gone(tmp: RemoteTemporary): void {
      j.struck.push(tmp);
    },
  };
  return j;
}

interface Remote {
  mover: Mover;
  /** The destination URL of a directory (client view), and that directory on disk. */
  url(dir: string): string;
  onDisk(dir: string): string;
  /** What the remote temporary's fields must be. */
  scheme: string;
  user: string;
  connectionParameters: Record<string, string>;
}

/** Upload a 64 MiB file and abort once its temporary shows up on disk; returns the journal. */
async function abortedUpload(
  r: Remote,
  src: string,
  dir: string,
): Promise<ReturnType<typeof recordingJournal>> {
  const { log } = captureLog();
  const disk = r.onDisk(dir);
  const journal = recordingJournal(disk);
  const f = await randomFile(src, "crashed.bin", 64 * 1024 * 1024);
  const ac = new AbortController();
  const watcher = watch(disk, (_e, name) => {
    if (name?.startsWith(".crashed.bin.") === true)
      ac.abort(new Error("stop now"));
  });
  try {
    await assert.rejects(
      r.mover.move(
        request(f.path, r.url(dir), log, {
          connectionParameters: r.connectionParameters,
          signal: ac.signal,
          temporaries: journal,
        }),
      ),
    );
  } finally {
    watcher.close();
  }
  return journal;
}

function behaviour(r: () => Remote, src: () => string): void {
  it("notes the temporary before it exists on the remote, and strikes it off once renamed into place", async () => {
    const { log } = captureLog();
    const remote = r();
    const disk = remote.onDisk("ok");
    await mkdir(disk, { recursive: true, mode: 0o777 });
    await chmod(disk, 0o777);
    const journal = recordingJournal(disk);
    const f = await randomFile(src(), "noted.bin", 3 * 1024 * 1024 + 5);
    await remote.mover.move(
      request(f.path, remote.url("ok"), log, {
        connectionParameters: remote.connectionParameters,
        temporaries: journal,
      }),
    );
    assert.equal(journal.noted.length, 1);
    const tmp = journal.noted[0]!;
    assert.deepEqual(
      journal.seen,
      [[]],
      "nothing on the remote when the note came",
    );
    assert.equal(basename(tmp.path).startsWith(".noted.bin."), true);
    assert.equal(tmp.final, `${parseUrl(remote.url("ok")).path}noted.bin`);
    assert.deepEqual(
      { scheme: tmp.scheme, host: tmp.host, user: tmp.user },
      { scheme: remote.scheme, host: "127.0.0.1", user: remote.user },
    );
    assert.equal(tmp.port, parseUrl(remote.url("ok")).port);
    assert.deepEqual(journal.struck, [tmp]);
    assert.deepEqual(await readdir(disk), ["noted.bin"]);
    assert.equal(await sha256File(join(disk, "noted.bin")), f.sha256);
  });

  it("keeps the note of a temporary an aborted upload left; removeTemporaries removes it, and counts one not there as gone", async () => {
    const remote = r();
    const disk = remote.onDisk("crash");
    await mkdir(disk, { recursive: true, mode: 0o777 });
    await chmod(disk, 0o777);
    const journal = await abortedUpload(remote, src(), "crash");
    assert.equal(journal.noted.length, 1);
    assert.deepEqual(
      journal.struck,
      [],
      "not struck off: the aborted upload could not remove it",
    );
    const tmp = journal.noted[0]!;
    assert.deepEqual(
      await readdir(disk),
      [basename(tmp.path)],
      "the temporary is left on the remote",
    );
    const { log } = captureLog();
    const missing = `${parseUrl(remote.url("crash")).path}.never-there.part`;
    const cleanup: CleanupRequest = {
      destination: parseUrl(remote.url("")),
      paths: [tmp.path, missing],
      connectionParameters: remote.connectionParameters,
      signal: AbortSignal.timeout(30_000),
      log,
    };
    assert.deepEqual(await remote.mover.removeTemporaries!(cleanup), [
      tmp.path,
      missing,
    ]);
    assert.deepEqual(await readdir(disk), []);
  });

  it("removeTemporaries throws when the remote cannot be reached", async () => {
    const remote = r();
    const { log } = captureLog();
    const dead = { ...parseUrl(remote.url("")), port: await closedPort() };
    await assert.rejects(
      remote.mover.removeTemporaries!({
        destination: dead,
        paths: ["/x/.y.part"],
        connectionParameters: remote.connectionParameters,
        signal: AbortSignal.timeout(30_000),
        log,
      }),
      /connection refused/,
    );
  });
}

describe("movers/temporaries - sftp", { skip: sshdSkip() }, () => {
  let sshd: SshdServer;
  let work: string;
  let remote: Remote;
  const savedAgent = process.env.SSH_AUTH_SOCK;

  before(async () => {
    delete process.env.SSH_AUTH_SOCK; // only the key we hand out may log in
    sshd = await startSshd();
    work = await tempDir("tmp-sftp");
    await chmod(work, 0o755);
    remote = {
      mover: new SftpMover(),
      url: (dir) =>
        `sftp://root@${sshd.host}:${sshd.port}${work}/${dir === "" ? "" : `${dir}/`}`,
      onDisk: (dir) => join(work, dir),
      scheme: "sftp",
      user: "root",
      connectionParameters: {
        ssh_key_filename: sshd.clientKey,
        known_hosts: sshd.knownHosts,
      },
    };
  });

  after(async () => {
    if (savedAgent !== undefined) process.env.SSH_AUTH_SOCK = savedAgent;
    await remote?.mover.close();
    await sshd?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  behaviour(
    () => remote,
    () => work,
  );
});

describe("movers/temporaries - ftp", { skip: ftpdSkip() }, () => {
  let ftpd: FtpdServer;
  let src: string;
  let remote: Remote;

  before(async () => {
    ftpd = await startFtpd();
    src = await tempDir("tmp-ftp");
    // Anonymous login with the default password: what a sweep after a restart logs in as, with no URL at hand.
    remote = {
      mover: new FtpMover(),
      url: (dir) =>
        `ftp://${ftpd.host}:${ftpd.port}/pub/${dir === "" ? "" : `${dir}/`}`,
      onDisk: (dir) => join(ftpd.pub, dir),
      scheme: "ftp",
      user: "anonymous",
      connectionParameters: {},
    };
  });

  after(async () => {
    await remote?.mover.close();
    await ftpd?.stop();
    if (src !== undefined) await rm(src, { recursive: true, force: true });
  });

  behaviour(
    () => remote,
    () => src,
  );

  // vsftpd answers DELE and SIZE with the same 550 whether the file is missing or out of reach.
  it("counts a 550 to DELE and SIZE as gone only when the directory, entered and listed, lacks the name; else keeps it", async () => {
    // Out of reach: a directory the ftp account cannot enter (root's, 0700).
    const locked = join(ftpd.pub, "locked");
    await mkdir(locked, { mode: 0o700 });
    await writeFile(join(locked, ".kept.bin.1.x.part"), "partial");
    // Listed: a directory under a temporary's name (DELE and SIZE refuse it, the listing shows it).
    const open = join(ftpd.pub, "open");
    await mkdir(join(open, ".dir.bin.1.x.part"), {
      recursive: true,
      mode: 0o755,
    });
    const { log, records } = captureLog();
    const paths = [
      "/pub/locked/.kept.bin.1.x.part",
      "/pub/open/.dir.bin.1.x.part",
      "/pub/open/.never-there.part",
      // Its directory missing: CWD's 550 cannot tell that from a refusal either.
      "/pub/no-dir/.x.part",
    ];
    assert.deepEqual(
      await remote.mover.removeTemporaries!({
        destination: parseUrl(remote.url("")),
        paths,
        connectionParameters: {},
        signal: AbortSignal.timeout(30_000),
        log,
      }),
      ["/pub/open/.never-there.part"],
    );
    assert.deepEqual(await readdir(locked), [".kept.bin.1.x.part"]);
    assert.deepEqual(await readdir(open), [".dir.bin.1.x.part"]);
    assert.deepEqual(
      records
        .filter((r) => r.msg === "remote temporary not removed")
        .map((r) => r["path"]),
      [paths[0], paths[1], paths[3]],
    );
  });
});
