/**
 * The ftp mover against a real vsftpd on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { watch } from "node:fs";
import { chmod, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { TransferError } from "../../../src/errors.js";
import { FtpMover } from "../../../src/movers/ftp.js";
import { closedPort, silentServer } from "../../helpers/daemon.js";
import { ftpdSkip, startFtpd, type FtpdServer } from "../../helpers/ftpd.js";
import {
  captureLog,
  randomFile,
  request,
  sha256File,
  tempDir,
  watchForPartial,
} from "../../helpers/mover-kit.js";

const PASSWORD = "s3cret-Passw0rd";

describe("movers/ftp - behaviour", { skip: ftpdSkip() }, () => {
  let ftpd: FtpdServer;
  let src: string;
  let mover: FtpMover;
  const savedHome = process.env.HOME;

  before(async () => {
    ftpd = await startFtpd({ passwords: ["anonymous@", PASSWORD] });
    src = await tempDir("ftp-src");
    mover = new FtpMover();
  });

  after(async () => {
    process.env.HOME = savedHome;
    await mover?.close();
    await ftpd?.stop();
    if (src !== undefined) await rm(src, { recursive: true, force: true });
  });

  const url = (path: string, creds = `anonymous:${PASSWORD}@`): string =>
    `ftp://${creds}${ftpd.host}:${ftpd.port}${path}`;

  it("uploads a file into new nested directories with its bytes intact", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "intact.bin", 3 * 1024 * 1024 + 17);
    const res = await mover.move(request(f.path, url("/pub/a/b/c/"), log));
    assert.equal(
      res.uri,
      `ftp://${ftpd.host}:${ftpd.port}/pub/a/b/c/intact.bin`,
    );
    assert.equal(res.bytes, 3 * 1024 * 1024 + 17);
    assert.equal(res.method, "upload");
    assert.equal(
      await sha256File(join(ftpd.pub, "a/b/c/intact.bin")),
      f.sha256,
    );
    assert.deepEqual(await readdir(join(ftpd.pub, "a/b/c")), ["intact.bin"]);
  });

  it("writes to a full file path and replaces an existing file", async () => {
    const { log } = captureLog();
    const first = await randomFile(src, "one.bin", 1000);
    const second = await randomFile(src, "two.bin", 2000);
    await mover.move(request(first.path, url("/pub/named/target.dat"), log));
    await mover.move(request(second.path, url("/pub/named/target.dat"), log));
    assert.equal(
      await sha256File(join(ftpd.pub, "named/target.dat")),
      second.sha256,
    );
    assert.deepEqual(await readdir(join(ftpd.pub, "named")), ["target.dat"]);
  });

  it("never shows a partial file under the final name during a multi-MB upload", async () => {
    const { log } = captureLog();
    const f = await randomFile(src, "big.bin", 24 * 1024 * 1024);
    const watcher = watchForPartial(ftpd.pub, "big.bin", 24 * 1024 * 1024);
    await mover.move(request(f.path, url("/pub/"), log));
    const report = await watcher.stop();
    assert.deepEqual(report.partials, []);
    assert.ok(
      report.others.some(
        (n) => n.startsWith(".big.bin.") && n.endsWith(".part"),
      ),
      `temporary name seen: ${report.others.join(", ")}`,
    );
    assert.equal(await sha256File(join(ftpd.pub, "big.bin")), f.sha256);
    assert.ok(!(await readdir(ftpd.pub)).some((n) => n.endsWith(".part")));
  });

  it("reuses one control connection for many files", async () => {
    const { log } = captureLog();
    const local = new FtpMover();
    const before = await ftpd.connections();
    try {
      for (let i = 0; i < 10; i++) {
        const f = await randomFile(src, `many-${i}.txt`, 100 + i);
        await local.move(request(f.path, url("/pub/many/"), log));
      }
      assert.equal((await ftpd.connections()) - before, 1);
      const stats = local.stats();
      assert.equal(stats.opened, 1);
      assert.equal(stats.reused, 9);
      assert.equal(stats.idle, 1);
    } finally {
      await local.close();
    }
    assert.equal((await readdir(join(ftpd.pub, "many"))).length, 10);
  });

  it("shares a bounded pool between concurrent pushes to one host", async () => {
    const { log } = captureLog();
    const local = new FtpMover();
    const before = await ftpd.connections();
    try {
      const files = await Promise.all(
        [...Array(8).keys()].map((i) =>
          randomFile(src, `conc-${i}.bin`, 200_000),
        ),
      );
      const params = { max_connections: "2" };
      await Promise.all(
        files.map((f) =>
          local.move(
            request(f.path, url("/pub/conc/"), log, {
              connectionParameters: params,
            }),
          ),
        ),
      );
      assert.ok((await ftpd.connections()) - before <= 2);
      assert.ok(local.stats().opened <= 2);
      for (const f of files)
        assert.equal(
          await sha256File(join(ftpd.pub, "conc", f.path.split("/").pop()!)),
          f.sha256,
        );
    } finally {
      await local.close();
    }
  });

  it("takes credentials from ~/.netrc (HOME honoured) when the URL has none", async () => {
    const { log } = captureLog();
    const home = await tempDir("ftp-home");
    await writeFile(
      join(home, ".netrc"),
      `machine ${ftpd.host}\n  login anonymous\n  password ${PASSWORD}\n`,
      { mode: 0o600 },
    );
    process.env.HOME = home;
    const local = new FtpMover();
    try {
      const f = await randomFile(src, "netrc.txt", 10);
      const res = await local.move(
        request(f.path, url("/pub/netrc/", ""), log),
      );
      assert.equal(
        res.uri,
        `ftp://${ftpd.host}:${ftpd.port}/pub/netrc/netrc.txt`,
      );
      await writeFile(
        join(home, ".netrc"),
        `default login anonymous password wrong-one\n`,
      );
      await local.close();
      await assert.rejects(
        new FtpMover().move(request(f.path, url("/pub/netrc/", ""), log)),
        {
          message: `authentication failed for anonymous@${ftpd.host}:${ftpd.port}`,
        },
      );
    } finally {
      process.env.HOME = savedHome;
      await local.close();
      await rm(home, { recursive: true, force: true });
    }
  });

  it("logs in anonymously without URL credentials or netrc entry", async () => {
    const { log } = captureLog();
    const home = await tempDir("ftp-home-empty");
    process.env.HOME = home;
    const local = new FtpMover();
    try {
      const f = await randomFile(src, "anon.txt", 10);
      await local.move(request(f.path, url("/pub/anon/", ""), log));
      assert.equal(await sha256File(join(ftpd.pub, "anon/anon.txt")), f.sha256);
    } finally {
      process.env.HOME = savedHome;
      await local.close();
      await rm(home, { recursive: true, force: true });
    }
  });

  it("reports a wrong password as an authentication failure, without the password", async () => {
    const { log, text } = captureLog();
    const f = await randomFile(src, "wrong.txt", 10);
    const err = await mover
      .move(request(f.path, url("/pub/", "anonymous:Wr0ng-Secret@"), log))
      .catch((e: unknown) => e);
    assert.ok(err instanceof TransferError);
    assert.equal(
      err.message,
      `authentication failed for anonymous@${ftpd.host}:${ftpd.port}`,
    );
    assert.equal(
      err.destination,
      `ftp://${ftpd.host}:${ftpd.port}/pub/wrong.txt`,
    );
    assert.ok(
      !JSON.stringify({
        m: err.message,
        d: err.destination,
        s: err.stack,
      }).includes("Wr0ng-Secret"),
    );
    assert.ok(!text().includes("Wr0ng-Secret"));
  });

  it("never puts credentials in logs or results of a successful push", async () => {
    const { log, text, records } = captureLog();
    const local = new FtpMover({ log });
    try {
      const f = await randomFile(src, "quiet.txt", 10);
      const res = await local.move(request(f.path, url("/pub/quiet/"), log));
      assert.ok(!res.uri.includes(PASSWORD));
    } finally {
      await local.close();
    }
    assert.ok(records.some((r) => r.msg === "connection opened"));
    assert.ok(!text().includes(PASSWORD));
  });

  it("refuses a read-only directory with a short message and leaves no temporary file", async () => {
    const { log } = captureLog();
    const ro = join(ftpd.pub, "ro");
    await mkdir(ro);
    await chmod(ro, 0o555); // owned by root: the anonymous `ftp` account cannot write
    const f = await randomFile(src, "denied.txt", 10);
    await assert.rejects(mover.move(request(f.path, url("/pub/ro/"), log)), {
      name: "TransferError",
      message: "permission denied on /pub/ro",
    });
    await assert.rejects(
      mover.move(request(f.path, url("/pub/ro/sub/"), log)),
      { message: "permission denied on /pub/ro" },
    );
    assert.deepEqual(await readdir(ro), []);
  });

  it("fails over to a backup target when the first host refuses the connection", async () => {
    const { log, records } = captureLog();
    const dead = await closedPort();
    const f = await randomFile(src, "failover.txt", 1234);
    const res = await mover.move(
      request(
        f.path,
        `ftp://anonymous:${PASSWORD}@127.0.0.1:${dead}/pub/failover/`,
        log,
        { backupTargets: [`127.0.0.1:${ftpd.port}`] },
      ),
    );
    assert.equal(
      res.uri,
      `ftp://127.0.0.1:${ftpd.port}/pub/failover/failover.txt`,
    );
    assert.equal(
      await sha256File(join(ftpd.pub, "failover/failover.txt")),
      f.sha256,
    );
    assert.ok(
      records.some(
        (r) =>
          r.msg === "host unreachable, trying backup target" &&
          r.host === `127.0.0.1:${dead}`,
      ),
    );
  });

  it("does not fail over on an authentication failure", async () => {
    const { log } = captureLog();
    const other = await closedPort();
    const f = await randomFile(src, "nofailover.txt", 10);
    const req = request(f.path, url("/pub/", "anonymous:bad@"), log, {
      backupTargets: [`127.0.0.1:${other}`],
    });
    await assert.rejects(mover.move(req), {
      message: `authentication failed for anonymous@${ftpd.host}:${ftpd.port}`,
    });
  });

  it("says connection refused for a closed port", async () => {
    const { log } = captureLog();
    const dead = await closedPort();
    const f = await randomFile(src, "refused.txt", 10);
    await assert.rejects(
      mover.move(request(f.path, `ftp://127.0.0.1:${dead}/pub/`, log)),
      { message: `connection refused to 127.0.0.1:${dead}` },
    );
  });

  it("says timeout when a server never answers", async () => {
    const { log } = captureLog();
    const silent = await silentServer();
    try {
      const f = await randomFile(src, "timeout.txt", 10);
      const req = request(f.path, `ftp://127.0.0.1:${silent.port}/pub/`, log, {
        connectionParameters: { connection_timeout: "0.5" },
      });
      const started = Date.now();
      await assert.rejects(mover.move(req), {
        message: `timeout connecting to 127.0.0.1:${silent.port}`,
      });
      assert.ok(Date.now() - started < 5000);
    } finally {
      await silent.close();
    }
  });

  it("stops at once when the signal aborts mid-upload, leaving nothing under the final name", async () => {
    const { log } = captureLog();
    const local = new FtpMover();
    const f = await randomFile(src, "aborted.bin", 64 * 1024 * 1024);
    const ac = new AbortController();
    const reason = new Error("stop now");
    // Abort as soon as the temporary file shows up: the upload is then surely under way.
    const watcher = watch(ftpd.pub, (_e, name) => {
      if (name?.startsWith(".aborted.bin.") === true) ac.abort(reason);
    });
    try {
      await assert.rejects(
        local.move(request(f.path, url("/pub/"), log, { signal: ac.signal })),
        (e) => e === reason,
      );
    } finally {
      watcher.close();
      await local.close();
    }
    assert.ok(ac.signal.aborted);
    assert.ok(!(await readdir(ftpd.pub)).includes("aborted.bin"));
  });
});
