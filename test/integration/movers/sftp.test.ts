/**
 * The sftp and scp movers against a real OpenSSH sshd on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { watch } from "node:fs";
import {
  chmod,
  copyFile,
  mkdir,
  readFile,
  readdir,
  rm,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { TransferError } from "../../../src/errors.js";
import { defaultMovers } from "../../../src/movers/registry.js";
import { ScpMover } from "../../../src/movers/scp.js";
import { SftpMover } from "../../../src/movers/sftp.js";
import { closedPort, silentServer } from "../../helpers/daemon.js";
import {
  captureLog,
  failingSource,
  randomFile,
  request,
  sha256File,
  tempDir,
  watchForPartial,
} from "../../helpers/mover-kit.js";
import {
  SSH_KEYGEN,
  generateKey,
  sshdSkip,
  startSshd,
  type SshdServer,
} from "../../helpers/sshd.js";

const run = promisify(execFile);

describe("movers/sftp - behaviour", { skip: sshdSkip() }, () => {
  let sshd: SshdServer;
  let work: string;
  let mover: SftpMover;
  let params: Record<string, string>;
  const savedAgent = process.env.SSH_AUTH_SOCK;
  const savedHome = process.env.HOME;

  before(async () => {
    delete process.env.SSH_AUTH_SOCK; // only the keys we hand out may log in
    sshd = await startSshd();
    work = await tempDir("sftp");
    await chmod(work, 0o755);
    mover = new SftpMover();
    params = { ssh_key_filename: sshd.clientKey, known_hosts: sshd.knownHosts };
  });

  after(async () => {
    if (savedAgent !== undefined) process.env.SSH_AUTH_SOCK = savedAgent;
    process.env.HOME = savedHome;
    await mover?.close();
    await sshd?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  const url = (path: string, user = "root", scheme = "sftp"): string =>
    `${scheme}://${user}@${sshd.host}:${sshd.port}${path}`;
  const where = (): string => `${sshd.host}:${sshd.port}`;

  it("uploads a file into new nested directories with its bytes intact", async () => {
    const { log } = captureLog();
    const f = await randomFile(work, "intact.bin", 5 * 1024 * 1024 + 3);
    const res = await mover.move(
      request(f.path, url(`${work}/out/a/b/`), log, {
        connectionParameters: params,
      }),
    );
    assert.equal(
      res.uri,
      url(`${work}/out/a/b/intact.bin`).replace("root@", ""),
    );
    assert.equal(res.bytes, 5 * 1024 * 1024 + 3);
    assert.equal(res.method, "upload");
    assert.equal(await sha256File(join(work, "out/a/b/intact.bin")), f.sha256);
    assert.deepEqual(await readdir(join(work, "out/a/b")), ["intact.bin"]);
  });

  it("serves scp:// through the same SFTP session code", async () => {
    const { log } = captureLog();
    const scp = new ScpMover();
    try {
      assert.deepEqual(scp.schemes, ["scp"]);
      const f = await randomFile(work, "via-scp.bin", 70_000);
      const res = await scp.move(
        request(f.path, url(`${work}/scp/`, "root", "scp"), log, {
          connectionParameters: params,
        }),
      );
      assert.equal(res.uri, `scp://${where()}${work}/scp/via-scp.bin`);
      assert.equal(await sha256File(join(work, "scp/via-scp.bin")), f.sha256);
    } finally {
      await scp.close();
    }
  });

  it("is what the default registry uses for ftp, scp and sftp", async () => {
    const registry = defaultMovers();
    try {
      assert.ok(registry.get("sftp") instanceof SftpMover);
      assert.ok(registry.get("scp") instanceof ScpMover);
      assert.deepEqual(registry.get("ftp").schemes, ["ftp"]);
    } finally {
      await registry.close();
    }
  });

  it("writes to a full file path and replaces an existing file", async () => {
    const { log } = captureLog();
    const first = await randomFile(work, "first.bin", 4000);
    const second = await randomFile(work, "second.bin", 3000);
    const dest = url(`${work}/named/target.dat`);
    await mover.move(
      request(first.path, dest, log, { connectionParameters: params }),
    );
    await mover.move(
      request(second.path, dest, log, { connectionParameters: params }),
    );
    assert.equal(
      await sha256File(join(work, "named/target.dat")),
      second.sha256,
    );
    assert.deepEqual(await readdir(join(work, "named")), ["target.dat"]);
  });

  it("never shows a partial file under the final name during a multi-MB upload", async () => {
    const { log } = captureLog();
    const dir = join(work, "watched");
    await mkdir(dir);
    const size = 32 * 1024 * 1024;
    const f = await randomFile(work, "big.bin", size);
    const watcher = watchForPartial(dir, "big.bin", size);
    await mover.move(
      request(f.path, url(`${dir}/`), log, { connectionParameters: params }),
    );
    const report = await watcher.stop();
    assert.deepEqual(report.partials, []);
    assert.ok(
      report.others.some(
        (n) => n.startsWith(".big.bin.") && n.endsWith(".part"),
      ),
      `temporary name seen: ${report.others.join(", ")}`,
    );
    assert.deepEqual(await readdir(dir), ["big.bin"]);
    assert.equal(await sha256File(join(dir, "big.bin")), f.sha256);
  });

  it("reuses one SSH session for many files", async () => {
    const { log } = captureLog();
    const local = new SftpMover();
    const before = sshd.logins();
    try {
      for (let i = 0; i < 12; i++) {
        const f = await randomFile(work, `many-${i}.txt`, 10 + i);
        await local.move(
          request(f.path, url(`${work}/many/`), log, {
            connectionParameters: params,
          }),
        );
      }
      assert.equal(sshd.logins() - before, 1);
      const stats = local.stats();
      assert.deepEqual(
        [stats.opened, stats.reused, stats.dropped, stats.idle, stats.busy],
        [1, 11, 0, 1, 0],
      );
    } finally {
      await local.close();
    }
    assert.equal((await readdir(join(work, "many"))).length, 12);
  });

  it("shares a bounded pool between concurrent pushes to one host", async () => {
    const { log } = captureLog();
    const local = new SftpMover();
    const before = sshd.logins();
    try {
      const files = await Promise.all(
        [...Array(10).keys()].map((i) =>
          randomFile(work, `conc-${i}.bin`, 300_000),
        ),
      );
      const p = { ...params, max_connections: "3" };
      await Promise.all(
        files.map((f) =>
          local.move(
            request(f.path, url(`${work}/conc/`), log, {
              connectionParameters: p,
            }),
          ),
        ),
      );
      const opened = sshd.logins() - before;
      assert.ok(opened >= 1 && opened <= 3, `sessions: ${opened}`);
      assert.equal(local.stats().opened, opened);
      for (const f of files)
        assert.equal(
          await sha256File(join(work, "conc", f.path.split("/").pop()!)),
          f.sha256,
        );
    } finally {
      await local.close();
    }
  });

  it("uses the default key and known_hosts under $HOME when none are configured", async () => {
    const { log } = captureLog();
    const home = await tempDir("sftp-home");
    await mkdir(join(home, ".ssh"), { mode: 0o700 });
    await copyFile(sshd.clientKey, join(home, ".ssh", "id_ed25519"));
    await copyFile(sshd.knownHosts, join(home, ".ssh", "known_hosts"));
    process.env.HOME = home;
    const local = new SftpMover();
    try {
      const f = await randomFile(work, "home-key.txt", 99);
      await local.move(request(f.path, url(`${work}/home/`), log));
      assert.equal(await sha256File(join(work, "home/home-key.txt")), f.sha256);
    } finally {
      process.env.HOME = savedHome;
      await local.close();
      await rm(home, { recursive: true, force: true });
    }
  });

  it("accepts hashed known_hosts entries", async () => {
    const { log } = captureLog();
    const hashed = join(work, "known_hosts_hashed");
    await copyFile(sshd.knownHosts, hashed);
    await run(SSH_KEYGEN, ["-q", "-H", "-f", hashed]);
    const text = await readFile(hashed, "utf8");
    assert.match(text, /^\|1\|/);
    const local = new SftpMover();
    try {
      const f = await randomFile(work, "hashed.txt", 10);
      await local.move(
        request(f.path, url(`${work}/hashed/`), log, {
          connectionParameters: { ...params, known_hosts: hashed },
        }),
      );
    } finally {
      await local.close();
    }
  });

  it("refuses an unknown host key, and learns it with accept_new_host_keys", async () => {
    const { log, records } = captureLog();
    const kh = join(work, "kh-new", "known_hosts");
    const f = await randomFile(work, "unknown.txt", 10);
    const p = { ...params, known_hosts: kh };
    await assert.rejects(
      mover.move(
        request(f.path, url(`${work}/unknown/`), log, {
          connectionParameters: p,
        }),
      ),
      {
        name: "TransferError",
        message: `unknown host key for ${where()} (add it to known_hosts or set connection_parameters__accept_new_host_keys = true)`,
      },
    );
    await mover.move(
      request(f.path, url(`${work}/unknown/`), log, {
        connectionParameters: { ...p, accept_new_host_keys: "true" },
      }),
    );
    assert.equal(
      await readFile(kh, "utf8"),
      `[${sshd.host}]:${sshd.port} ${sshd.hostPublicKey}\n`,
    );
    assert.ok(
      records.some((r) => r.msg === "new host key added to known_hosts"),
    );
    const local = new SftpMover(); // a fresh session, now checked against the learnt key
    try {
      await local.move(
        request(f.path, url(`${work}/unknown/`), log, {
          connectionParameters: p,
        }),
      );
    } finally {
      await local.close();
    }
  });

  it("refuses a host whose key differs from known_hosts", async () => {
    const { log } = captureLog();
    const other = join(work, "other_host_key");
    await generateKey(other);
    const otherPub = (await readFile(`${other}.pub`, "utf8"))
      .split(" ")
      .slice(0, 2)
      .join(" ");
    const kh = join(work, "kh-mismatch");
    await writeFile(kh, `[${sshd.host}]:${sshd.port} ${otherPub}\n`);
    const f = await randomFile(work, "mismatch.txt", 10);
    await assert.rejects(
      mover.move(
        request(f.path, url(`${work}/mm/`), log, {
          connectionParameters: {
            ...params,
            known_hosts: kh,
            accept_new_host_keys: "yes",
          },
        }),
      ),
      {
        message: `host key mismatch for ${where()} (known_hosts has another key: possible man-in-the-middle)`,
      },
    );
  });

  it("reports a key the server does not accept as an authentication failure", async () => {
    const { log } = captureLog();
    const stranger = join(work, "stranger_key");
    await generateKey(stranger);
    const f = await randomFile(work, "auth.txt", 10);
    const p = { ...params, ssh_key_filename: stranger };
    await assert.rejects(
      mover.move(
        request(f.path, url(`${work}/auth/`), log, { connectionParameters: p }),
      ),
      {
        message: `authentication failed for root@${where()}`,
      },
    );
  });

  it("names a key file it cannot use", async () => {
    const { log } = captureLog();
    const f = await randomFile(work, "nokey.txt", 10);
    const p = { ...params, ssh_key_filename: join(work, "no-such-key") };
    await assert.rejects(
      mover.move(
        request(f.path, url(`${work}/nokey/`), log, {
          connectionParameters: p,
        }),
      ),
      (e: unknown) => {
        assert.ok(e instanceof TransferError);
        assert.match(
          e.message,
          new RegExp(`^cannot use ssh key ${join(work, "no-such-key")}: `),
        );
        return true;
      },
    );
  });

  it("refuses a read-only directory with a short message and leaves no temporary file", async () => {
    const { log } = captureLog();
    const ro = join(work, "ro");
    await mkdir(ro);
    await chmod(ro, 0o555); // `nobody` cannot write here (root could)
    const f = await randomFile(work, "denied.txt", 10);
    const dest = url(`${ro}/`, "nobody");
    await assert.rejects(
      mover.move(request(f.path, dest, log, { connectionParameters: params })),
      { message: `permission denied on ${ro}` },
    );
    await assert.rejects(
      mover.move(
        request(f.path, url(`${ro}/sub/`, "nobody"), log, {
          connectionParameters: params,
        }),
      ),
      { message: `permission denied on ${ro}` },
    );
    assert.deepEqual(await readdir(ro), []);
    const open = join(work, "open");
    await mkdir(open);
    await chmod(open, 0o777);
    await mover.move(
      request(f.path, url(`${open}/`, "nobody"), log, {
        connectionParameters: params,
      }),
    );
    assert.deepEqual(await readdir(open), ["denied.txt"]);
  });

  it("removes the temporary file when the upload breaks off with the connection still up", async () => {
    const { log } = captureLog();
    const dir = join(work, "broken");
    await mkdir(dir);
    const failing = failingSource(dir);
    await assert.rejects(
      mover.move(
        request("broken.bin", url(`${dir}/`), log, {
          connectionParameters: params,
          stream: failing.source,
        }),
      ),
      TransferError,
    );
    assert.ok(
      failing.broke(),
      "the source failed once the temporary held bytes",
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it("fails over to a backup target when the first host refuses the connection", async () => {
    const { log, records } = captureLog();
    const dead = await closedPort();
    const f = await randomFile(work, "failover.bin", 50_000);
    const req = request(
      f.path,
      `sftp://root@127.0.0.1:${dead}${work}/failover/`,
      log,
      {
        connectionParameters: params,
        backupTargets: ["127.0.0.1:1", `127.0.0.1:${sshd.port}`],
      },
    );
    const res = await mover.move(req);
    assert.equal(
      res.uri,
      `sftp://127.0.0.1:${sshd.port}${work}/failover/failover.bin`,
    );
    assert.equal(
      await sha256File(join(work, "failover/failover.bin")),
      f.sha256,
    );
    const warned = records
      .filter((r) => r.msg === "host unreachable, trying backup target")
      .map((r) => r.host);
    assert.deepEqual(warned, [`127.0.0.1:${dead}`, "127.0.0.1:1"]);
  });

  it("does not fail over on a host key or authentication failure", async () => {
    const { log } = captureLog();
    const f = await randomFile(work, "stay.txt", 10);
    const kh = join(work, "kh-empty");
    await writeFile(kh, "");
    const req = request(f.path, url(`${work}/stay/`), log, {
      connectionParameters: { ...params, known_hosts: kh },
      backupTargets: [`127.0.0.1:${sshd.port}`, "127.0.0.2"],
    });
    await assert.rejects(mover.move(req), {
      message: /^unknown host key for /,
    });
  });

  it("says connection refused for a closed port, naming every host tried", async () => {
    const { log } = captureLog();
    const dead = await closedPort();
    const f = await randomFile(work, "refused.txt", 10);
    await assert.rejects(
      mover.move(
        request(f.path, `sftp://root@127.0.0.1:${dead}/tmp/`, log, {
          connectionParameters: params,
        }),
      ),
      {
        message: `connection refused to 127.0.0.1:${dead}`,
      },
    );
    const req = request(f.path, `sftp://root@127.0.0.1:${dead}/tmp/`, log, {
      connectionParameters: params,
      backupTargets: ["127.0.0.1:1"],
    });
    await assert.rejects(mover.move(req), {
      message: `connection refused to 127.0.0.1:${dead}; connection refused to 127.0.0.1:1`,
    });
  });

  it("says timeout when a server never answers (ssh_connection_timeout)", async () => {
    const { log } = captureLog();
    const silent = await silentServer();
    try {
      const f = await randomFile(work, "timeout.txt", 10);
      const p = { ...params, ssh_connection_timeout: "0.5" };
      const started = Date.now();
      await assert.rejects(
        mover.move(
          request(f.path, `sftp://root@127.0.0.1:${silent.port}/tmp/`, log, {
            connectionParameters: p,
          }),
        ),
        {
          message: `timeout connecting to 127.0.0.1:${silent.port}`,
        },
      );
      assert.ok(Date.now() - started < 5000);
    } finally {
      await silent.close();
    }
  });

  it("never puts credentials in errors or logs", async () => {
    const { log, text } = captureLog();
    const local = new SftpMover({ log });
    const secret = "hunter2-Sup3rSecret";
    try {
      const f = await randomFile(work, "secret.txt", 10);
      const ok = await local.move(
        request(f.path, url(`${work}/secret/`, `root:${secret}`), log, {
          connectionParameters: params,
        }),
      );
      assert.ok(!ok.uri.includes(secret));
      const stranger = join(work, "stranger_key2");
      await generateKey(stranger);
      const bad = { ...params, ssh_key_filename: stranger };
      const err = await local
        .move(
          request(f.path, url(`${work}/secret/`, `root:${secret}`), log, {
            connectionParameters: bad,
          }),
        )
        .catch((e: unknown) => e);
      assert.ok(err instanceof TransferError);
      assert.equal(err.message, `authentication failed for root@${where()}`);
      assert.equal(
        err.destination,
        `sftp://${where()}${work}/secret/secret.txt`,
      );
      assert.ok(
        !`${err.message} ${err.destination} ${err.stack ?? ""}`.includes(
          secret,
        ),
      );
    } finally {
      await local.close();
    }
    assert.ok(text().includes("connection opened"));
    assert.ok(!text().includes(secret));
  });

  it("stops at once when the signal aborts mid-upload, leaving nothing under the final name", async () => {
    const { log } = captureLog();
    const local = new SftpMover();
    const dir = join(work, "aborted");
    await mkdir(dir);
    const f = await randomFile(work, "aborted.bin", 64 * 1024 * 1024);
    const ac = new AbortController();
    const reason = new Error("stop now");
    const watcher = watch(dir, (_e, name) => {
      if (name?.startsWith(".aborted.bin.") === true) ac.abort(reason);
    });
    try {
      await assert.rejects(
        local.move(
          request(f.path, url(`${dir}/`), log, {
            connectionParameters: params,
            signal: ac.signal,
          }),
        ),
        (e) => e === reason,
      );
    } finally {
      watcher.close();
      await local.close();
    }
    assert.ok(!(await readdir(dir)).includes("aborted.bin"));
  });
});
