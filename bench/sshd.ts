/**
 * A throw-away OpenSSH server for the sftp scenario: /usr/sbin/sshd on
 * 127.0.0.1 and a free port, in the foreground, with a fresh host key, a
 * fresh client key authorized for the current user, a known_hosts file
 * naming the host key, and the in-process internal-sftp subsystem.
 */
import { execFile } from "node:child_process";
import {
  accessSync,
  constants,
  mkdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { connect } from "node:net";
import { userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { SftpTarget } from "./baseline.js";
import { sshdConfig } from "../test/helpers/sshd-config.js";
import { LOCALHOST, freePort, sleep, startProc, type Proc } from "./procs.js";

const run = promisify(execFile);
const SSHD = "/usr/sbin/sshd";
const KEYGEN = "ssh-keygen";

export interface Sshd extends SftpTarget {
  proc: Proc;
}

/** Why the sftp scenario cannot run here, or undefined. */
export function sshdMissing(): string | undefined {
  try {
    accessSync(SSHD, constants.X_OK);
    return undefined;
  } catch {
    return `${SSHD} not found (apt-get install openssh-server openssh-client)`;
  }
}

async function keyPair(path: string): Promise<void> {
  await run(KEYGEN, [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    "move_it-bench",
    "-f",
    path,
  ]);
}

/** Resolve once the port greets with `SSH-`. */
async function waitForBanner(
  port: number,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: LOCALHOST, port });
      s.setTimeout(1000, () => s.destroy());
      s.once(
        "data",
        (d) => (s.destroy(), resolve(d.toString("latin1").startsWith("SSH-"))),
      );
      s.once("error", () => resolve(false));
      s.once("close", () => resolve(false));
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}

/** Start sshd with everything it needs under `dir`. */
export async function startSshd(dir: string): Promise<Sshd> {
  mkdirSync(dir, { recursive: true });
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation directory
  await keyPair(join(dir, "host_key"));
  await keyPair(join(dir, "id_ed25519"));
  writeFileSync(
    join(dir, "authorized_keys"),
    readFileSync(join(dir, "id_ed25519.pub")),
    { mode: 0o644 },
  );
  const port = await freePort();
  writeFileSync(join(dir, "sshd_config"), sshdConfig(dir, port));
  const hostKey = readFileSync(join(dir, "host_key.pub"), "utf8")
    .split(" ")
    .slice(0, 2)
    .join(" ");
  writeFileSync(
    join(dir, "known_hosts"),
    `[${LOCALHOST}]:${port} ${hostKey}\n`,
  );
  const proc = startProc(
    "sshd",
    SSHD,
    ["-D", "-e", "-f", join(dir, "sshd_config")],
    join(dir, "sshd.log"),
  );
  if (!(await waitForBanner(port, 10_000))) {
    await proc.stop();
    throw new Error(`sshd did not start: ${proc.tail(500)}`);
  }
  return {
    proc,
    host: LOCALHOST,
    port,
    user: userInfo().username,
    key: join(dir, "id_ed25519"),
    knownHosts: join(dir, "known_hosts"),
  };
}
