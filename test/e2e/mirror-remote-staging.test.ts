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
import { chmod, chown, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { ftpdSkip, startFtpd } from "../helpers/ftpd.js";
import { MirrorRelay, type Staging } from "../helpers/mirror-relay.js";
import { sshdSkip, startSshd } from "../helpers/sshd.js";
import { requireBinary, skipUnless } from "../helpers/daemon.js";
import { waitFor } from "../helpers/wait.js";

const INOTIFYWAIT = "/usr/bin/inotifywait";
const skip =
  skipUnless(INOTIFYWAIT, "inotify-tools") ?? sshdSkip() ?? ftpdSkip();
const FILES = 8;

async function relayAcrossKill(
  t: TestContext,
  stagingFor: (work: string) => Promise<Staging>,
): Promise<void> {
  requireBinary(INOTIFYWAIT, "inotify-tools");
  const relay = await MirrorRelay.create(t, "move_it-mstage-", async (work) => {
    await chmod(work, 0o755);
    const staging = await stagingFor(work);
    return {
      ...staging,
      extra: `${staging.extra}delete = True\ntransfer_req_timeout = 20\n`,
    };
  });
  const mirror = await relay.startMirror();
  await relay.startClient();
  await relay.warmUp();

  for (let i = 0; i < FILES; i++)
    await relay.drop(
      `f-${String(i).padStart(2, "0")}.dat`,
      1_000_000 + i * 100_003,
    );
  // Some files are through, the others on their way: kill the mirror there.
  await waitFor(
    async () => (await relay.delivered()).some((n) => n.startsWith("f-")),
    "a first file through the mirror",
    60_000,
  );
  mirror.child.kill("SIGKILL");
  await mirror.exited;
  const before = (await relay.delivered()).filter((n) =>
    n.startsWith("f-"),
  ).length;
  t.diagnostic(
    `${before} of ${FILES} files delivered when the mirror was killed`,
  );
  assert.ok(
    before < FILES,
    "the kill came after every file was through: nothing was in flight",
  );
  await relay.startMirror();

  await relay.waitAllDelivered(
    "every file delivered after the restart",
    120_000,
  );
  await relay.assertExactlyOnce();
  // Every staged copy is deleted remove_delay (1 s) after its push, those of the killed mirror too.
  await relay.waitStagingEmpty();
}

for (const scheme of ["sftp", "scp"] as const) {
  test(
    `e2e/mirror-remote-staging - staging through ${scheme}://: every file once and intact across a kill -9 of the mirror`,
    { skip, timeout: 240_000 },
    async (t) => {
      const sshd = await startSshd();
      t.after(() => sshd.stop());
      await relayAcrossKill(t, async (work) => {
        const dir = join(work, "stage");
        return {
          destination: `${scheme}://root@${sshd.host}:${sshd.port}${dir}/`,
          dir,
          extra: "",
          serverExtra: `connection_parameters__ssh_key_filename = ${sshd.clientKey}\nconnection_parameters__known_hosts = ${sshd.knownHosts}\n`,
        };
      });
    },
  );
}

test(
  "e2e/mirror-remote-staging - staging through ftp:// (a chrooted FTP server, staging_directory): every file once and intact across a kill -9 of the mirror",
  { skip, timeout: 240_000 },
  async (t) => {
    const ftpd = await startFtpd({ passwords: ["gw-pw"] });
    t.after(() => ftpd.stop());
    await relayAcrossKill(t, async () => {
      const dir = join(ftpd.pub, "stage");
      await mkdir(dir);
      const owner = await stat(ftpd.pub);
      await chown(dir, owner.uid, owner.gid);
      return {
        destination: `ftp://anonymous:gw-pw@${ftpd.host}:${ftpd.port}/pub/stage/`,
        dir,
        extra: `staging_directory = ${dir}\n`,
        serverExtra: "",
      };
    });
  },
);
