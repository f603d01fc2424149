/**
 * The connection cache: first with scripted connections (exact counts and
 * timing), then with real sshd and vsftpd sessions (expiry after
 * connection_uptime, dead sessions dropped before reuse).
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ClosedError } from "../../../src/errors.js";
import {
  ConnectionCache,
  type AcquireOptions,
  type PooledConnection,
} from "../../../src/movers/connection-cache.js";
import { FtpMover } from "../../../src/movers/ftp.js";
import { SftpMover } from "../../../src/movers/sftp.js";
import { ftpdSkip, startFtpd, type FtpdServer } from "../../helpers/ftpd.js";
import {
  captureLog,
  randomFile,
  request,
  tempDir,
} from "../../helpers/mover-kit.js";
import { sshdSkip, startSshd, type SshdServer } from "../../helpers/sshd.js";
import { waitFor } from "../../helpers/wait.js";

class FakeConnection implements PooledConnection {
  static made = 0;
  readonly id = ++FakeConnection.made;
  alive = true;
  healthy = true;
  closed = false;
  checks: number[] = [];

  async check(idleMs: number): Promise<boolean> {
    this.checks.push(idleMs);
    return this.healthy;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.alive = false;
  }
}

function options(
  overrides: Partial<AcquireOptions<FakeConnection>> = {},
): AcquireOptions<FakeConnection> & { opened: FakeConnection[] } {
  const opened: FakeConnection[] = [];
  return {
    key: "k",
    label: "fake://h:1",
    uptimeMs: 10_000,
    maxConnections: 4,
    signal: new AbortController().signal,
    open: async () => {
      const c = new FakeConnection();
      opened.push(c);
      return c;
    },
    opened,
    ...overrides,
  };
}

describe("movers/connection-cache - behaviour", () => {
  it("hands an idle connection out again instead of opening another", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options();
    for (let i = 0; i < 5; i++) await cache.use(opts, async () => undefined);
    assert.equal(opts.opened.length, 1);
    assert.deepEqual(cache.stats(), {
      opened: 1,
      reused: 4,
      dropped: 0,
      closed: 0,
      idle: 1,
      idleDead: 0,
      busy: 0,
      waiting: 0,
    });
    await cache.close();
    assert.ok(opts.opened[0]!.closed);
  });

  it("keeps pools apart by key", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const a = options({ key: "a" });
    const b = options({ key: "b" });
    await cache.use(a, async () => undefined);
    await cache.use(b, async () => undefined);
    assert.equal(cache.stats().opened, 2);
    await cache.close();
  });

  it("closes a connection left idle for uptimeMs, with a timer that does not hold the process", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options({ uptimeMs: 40 });
    await cache.use(opts, async () => undefined);
    assert.equal(cache.stats().idle, 1);
    await waitFor(
      () => cache.stats().closed === 1,
      "the idle connection closed",
    );
    assert.equal(cache.stats().idle, 0);
    assert.ok(opts.opened[0]!.closed);
    await cache.use(opts, async () => undefined);
    assert.equal(opts.opened.length, 2);
    await cache.close();
  });

  it("closes at release when uptime is 0", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options({ uptimeMs: 0 });
    await cache.use(opts, async () => undefined);
    await cache.use(opts, async () => undefined);
    assert.equal(opts.opened.length, 2);
    assert.ok(opts.opened.every((c) => c.closed));
    assert.equal(cache.stats().idle, 0);
  });

  it("checks an idle connection before reuse and drops a dead one", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options();
    await cache.use(opts, async () => undefined);
    const first = opts.opened[0]!;
    await sleep(20); // pacing: idle a while, and the check is told how long
    first.healthy = false;
    const usedOn = await cache.use(opts, async (c) => c.id);
    assert.equal(first.checks.length, 1);
    assert.ok(
      first.checks[0]! >= 15,
      `idle time passed to check: ${first.checks[0]}`,
    );
    assert.ok(first.closed);
    assert.equal(usedOn, opts.opened[1]!.id);
    assert.equal(cache.stats().dropped, 1);
    await cache.close();
  });

  it("does not keep a connection that died while in use", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options();
    await assert.rejects(
      cache.use(opts, async (c) => {
        c.alive = false;
        throw new Error("socket gone");
      }),
      /socket gone/,
    );
    assert.equal(cache.stats().idle, 0);
    assert.ok(opts.opened[0]!.closed);
    await cache.close();
  });

  it("keeps a healthy connection after a failed operation", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options();
    await assert.rejects(
      cache.use(opts, async () =>
        Promise.reject(new Error("permission denied")),
      ),
    );
    assert.equal(cache.stats().idle, 1);
    await cache.close();
  });

  it("bounds connections per key and queues the rest", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options({ maxConnections: 2 });
    let inUse = 0;
    let peak = 0;
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const job = (): Promise<void> =>
      cache.use(opts, async () => {
        peak = Math.max(peak, ++inUse);
        await gate;
        inUse--;
      });
    const running = Promise.all([...Array(9).keys()].map(job));
    await waitFor(
      () => inUse === 2 && cache.stats().waiting === 7,
      "two in use, seven waiting",
    );
    open();
    await running;
    assert.equal(peak, 2);
    assert.equal(opts.opened.length, 2);
    assert.equal(cache.stats().reused, 7);
    await cache.close();
  });

  it("lets a waiter go when the signal aborts, with the signal's reason", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options({ maxConnections: 1 });
    const lease = await cache.acquire(opts);
    const ac = new AbortController();
    const waiting = cache.acquire({ ...opts, signal: ac.signal });
    await waitFor(() => cache.stats().waiting === 1, "one waiter");
    const reason = new Error("cancelled");
    ac.abort(reason);
    await assert.rejects(waiting, (e) => e === reason);
    assert.equal(cache.stats().waiting, 0);
    lease.release(true);
    await cache.close();
  });

  it("lets the next waiter try when an open fails", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    let attempts = 0;
    const base = options({ maxConnections: 1 });
    const opts = {
      ...base,
      open: async () =>
        ++attempts === 1
          ? Promise.reject(new Error("refused"))
          : base.open(base.signal),
    };
    const results = await Promise.allSettled([
      cache.use(opts, async () => "a"),
      cache.use(opts, async () => "b"),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["rejected", "fulfilled"],
    );
    await cache.close();
  });

  it("closes idle and busy connections on close(); waiters and later acquires get ClosedError", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const opts = options({ maxConnections: 1, key: "x" });
    const idleOpts = options({ key: "y" });
    await cache.use(idleOpts, async () => undefined);
    const lease = await cache.acquire(opts);
    const waiting = cache.acquire(opts);
    await waitFor(() => cache.stats().waiting === 1, "one waiter");
    await cache.close();
    assert.ok(lease.connection.closed);
    assert.ok(idleOpts.opened[0]!.closed);
    await assert.rejects(waiting, ClosedError);
    await assert.rejects(cache.acquire(opts), ClosedError);
    lease.release(true); // harmless after close
    assert.deepEqual(cache.stats().idle + cache.stats().busy, 0);
  });

  it("releases an aborted operation's connection as unusable", async () => {
    const cache = new ConnectionCache<FakeConnection>();
    const ac = new AbortController();
    const opts = options({ signal: ac.signal });
    await assert.rejects(
      cache.use(opts, async () => {
        ac.abort(new Error("stop"));
        throw new Error("interrupted");
      }),
    );
    assert.ok(opts.opened[0]!.closed);
    assert.equal(cache.stats().idle, 0);
  });
});

describe(
  "movers/connection-cache - real sessions",
  { skip: sshdSkip() ?? ftpdSkip() },
  () => {
    let sshd: SshdServer;
    let ftpd: FtpdServer;
    let work: string;
    const savedAgent = process.env.SSH_AUTH_SOCK;

    before(async () => {
      delete process.env.SSH_AUTH_SOCK;
      sshd = await startSshd();
      ftpd = await startFtpd();
      work = await tempDir("cache");
    });

    after(async () => {
      if (savedAgent !== undefined) process.env.SSH_AUTH_SOCK = savedAgent;
      await sshd?.stop();
      await ftpd?.stop();
      if (work !== undefined) await rm(work, { recursive: true, force: true });
    });

    const sftpParams = (): Record<string, string> => ({
      ssh_key_filename: sshd.clientKey,
      known_hosts: sshd.knownHosts,
    });
    const sftpUrl = (): string =>
      `sftp://root@${sshd.host}:${sshd.port}${work}/out/`;
    const ftpUrl = (): string =>
      `ftp://anonymous:${ftpd.passwords[1]}@${ftpd.host}:${ftpd.port}/pub/cache/`;

    it("closes an SSH session idle past connection_uptime; the next push logs in again", async () => {
      const { log } = captureLog();
      const mover = new SftpMover();
      const f = await randomFile(work, "uptime.txt", 10);
      const params = { ...sftpParams(), connection_uptime: "0.2" };
      const before = sshd.logins();
      try {
        await mover.move(
          request(f.path, sftpUrl(), log, { connectionParameters: params }),
        );
        await mover.move(
          request(f.path, sftpUrl(), log, { connectionParameters: params }),
        );
        assert.equal(sshd.logins() - before, 1);
        await waitFor(
          () => mover.stats().closed === 1,
          "the idle session closed",
        );
        assert.equal(mover.stats().idle, 0);
        await mover.move(
          request(f.path, sftpUrl(), log, { connectionParameters: params }),
        );
        assert.equal(sshd.logins() - before, 2);
      } finally {
        await mover.close();
      }
    });

    it("drops an SSH session the server killed and opens a new one", async () => {
      const { log } = captureLog();
      const mover = new SftpMover();
      const f = await randomFile(work, "killed.txt", 10);
      const before = sshd.logins();
      try {
        await mover.move(
          request(f.path, sftpUrl(), log, {
            connectionParameters: sftpParams(),
          }),
        );
        assert.ok((await sshd.killSessions()) >= 1);
        await waitFor(
          () => mover.stats().idleDead === 1,
          "the session's end seen",
        );
        await mover.move(
          request(f.path, sftpUrl(), log, {
            connectionParameters: sftpParams(),
          }),
        );
        assert.equal(sshd.logins() - before, 2);
        assert.equal(mover.stats().opened, 2);
        assert.equal(mover.stats().reused, 0);
      } finally {
        await mover.close();
      }
    });

    it("drops an FTP session the server killed and opens a new one", async () => {
      const { log } = captureLog();
      const mover = new FtpMover();
      const f = await randomFile(work, "killed-ftp.txt", 10);
      const before = await ftpd.logins();
      try {
        await mover.move(request(f.path, ftpUrl(), log));
        assert.ok((await ftpd.killSessions()) >= 1);
        await waitFor(
          () => mover.stats().idleDead === 1,
          "the session's end seen",
        );
        await mover.move(request(f.path, ftpUrl(), log));
        assert.equal((await ftpd.logins()) - before, 2);
        assert.equal(mover.stats().opened, 2);
      } finally {
        await mover.close();
      }
    });

    it("closes an idle FTP connection after connection_uptime", async () => {
      const { log } = captureLog();
      const mover = new FtpMover();
      const f = await randomFile(work, "uptime-ftp.txt", 10);
      try {
        await mover.move(
          request(f.path, ftpUrl(), log, {
            connectionParameters: { connection_uptime: "0.2" },
          }),
        );
        assert.equal(mover.stats().idle, 1);
        await waitFor(
          () => mover.stats().closed === 1,
          "the idle connection closed",
        );
        assert.equal(mover.stats().idle, 0);
      } finally {
        await mover.close();
      }
    });
  },
);
