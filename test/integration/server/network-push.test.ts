/**
 * Pushes through our server (a real ZeroMQ request) to the network movers,
 * against a real sshd and vsftpd on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { chmod, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Message } from "../../../src/message/index.js";
import { captureLogger } from "../../helpers/log.js";
import { randomFile, sha256File } from "../../helpers/mover-kit.js";
import { ftpdSkip, startFtpd, type FtpdServer } from "../../helpers/ftpd.js";
import { freePort } from "../../helpers/net.js";
import { startServer, type StartedServer } from "../../helpers/server.js";
import { sshdSkip, startSshd, type SshdServer } from "../../helpers/sshd.js";
import { request } from "../../helpers/zmq.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";

describe(
  "server/network-push - behaviour",
  { skip: sshdSkip() ?? ftpdSkip() },
  () => {
    let sshd: SshdServer;
    let ftpd: FtpdServer;
    let work: string;
    let srv: StartedServer;
    let file: { path: string; sha256: string };
    const { log, records } = captureLogger();

    before(async () => {
      [sshd, ftpd] = await Promise.all([
        startSshd(),
        startFtpd({ passwords: ["s3cret-pw"] }),
      ]);
      work = await mkdtemp(join(tmpdir(), "move_it-netpush-"));
      await chmod(work, 0o755);
      await mkdir(join(work, "in"));
      file = await randomFile(
        join(work, "in"),
        "pass.dat",
        3 * 1024 * 1024 + 17,
      );
      const ini = `[net]\norigin = ${work}/in/{name}.dat\ntopic = /net\nrequest_port = 0\nrequest_address = 127.0.0.1\nconnection_parameters__ssh_key_filename = ${sshd.clientKey}\nconnection_parameters__known_hosts = ${sshd.knownHosts}\n`;
      srv = await startServer({ after: (fn) => cleanups.push(fn) }, ini, {
        log,
        disableBacklog: false,
      });
    });
    const cleanups: (() => unknown)[] = [];

    after(async () => {
      for (const fn of cleanups.reverse()) await fn();
      await Promise.all([sshd?.stop(), ftpd?.stop()]);
      await rm(work, { recursive: true, force: true });
    });

    const push = (destination: string): Promise<Message> =>
      request(
        srv.requestPort(),
        new Message("/net", "push", {
          uri: file.path,
          uid: "pass.dat",
          destination,
        }),
        30_000,
      );

    for (const scheme of ["sftp", "scp"]) {
      it(`delivers over ${scheme} intact and answers with the destination`, async () => {
        const dest = join(work, `${scheme}-out`);
        const url = `${scheme}://root@${sshd.host}:${sshd.port}${dest}/`;
        const reply = await push(url);
        assert.equal(reply.type, "file", String(reply.data));
        assert.equal(
          reply.dataObject["destination"],
          `${scheme}://${sshd.host}:${sshd.port}${dest}/`,
        );
        assert.equal(await sha256File(join(dest, "pass.dat")), file.sha256);
      });
    }

    it("delivers over ftp with credentials that never reach a reply or a log line", async () => {
      const reply = await push(
        `ftp://anonymous:s3cret-pw@${ftpd.host}:${ftpd.port}/pub/srv/`,
      );
      assert.equal(reply.type, "file", String(reply.data));
      assert.equal(
        await sha256File(join(ftpd.pub, "srv", "pass.dat")),
        file.sha256,
      );
      assert.ok(!reply.encode().includes("s3cret-pw"));
      const bad = await push(
        `ftp://anonymous:wrong-pw@${ftpd.host}:${ftpd.port}/pub/srv2/`,
      );
      assert.equal(bad.type, "err");
      assert.ok(!String(bad.data).includes("wrong-pw"));
      assert.ok(!JSON.stringify(records).includes("s3cret-pw"));
      assert.ok(!JSON.stringify(records).includes("wrong-pw"));
    });

    it("answers err with a short reason when the ssh port is closed", async () => {
      const dead = await freePort();
      const reply = await push(`sftp://root@127.0.0.1:${dead}${work}/x/`);
      assert.equal(reply.type, "err");
      assert.match(
        String(reply.data),
        /connection refused to 127\.0\.0\.1:\d+/,
      );
    });
  },
);
