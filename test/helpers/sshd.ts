/**
 * A real OpenSSH server for tests: /usr/sbin/sshd on 127.0.0.1 and a free
 * port, with a throw-away host key, config, authorized_keys and client key
 * in a temp dir. Public-key login only; root and the unprivileged `nobody`
 * (for permission tests) may log in with the generated client key. SFTP is
 * the in-process internal-sftp.
 */
import { execFile } from "node:child_process";
import {
  chmod,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { sshdConfig } from "./sshd-config.js";
import {
  LOCALHOST,
  requireBinary,
  skipUnless,
  startDaemon,
  startOnFreePort,
} from "./daemon.js";

const run = promisify(execFile);

/** Absolute paths: sshd refuses to run from a relative one. */
export const SSHD = "/usr/sbin/sshd";
/** ssh-keygen, for host and client keys and hashed known_hosts. */
export const SSH_KEYGEN = "/usr/bin/ssh-keygen";
const APT = "openssh-server openssh-client";

/** A running sshd and the files a client needs. */
export interface SshdServer {
  host: string;
  port: number;
  /** The temp dir holding everything (removed by stop). */
  dir: string;
  /** Private key authorized for every user. */
  clientKey: string;
  /** A known_hosts file with this server's host key, as `[127.0.0.1]:port ssh-ed25519 ...`. */
  knownHosts: string;
  /** The host's public key line (`ssh-ed25519 AAAA...`). */
  hostPublicKey: string;
  /** sshd's log (stderr) lines. */
  lines(): string[];
  /** Logins accepted so far (one per SSH connection). */
  logins(): number;
  /** Kill the server's per-connection processes (clients see their connections die); returns how many. */
  killSessions(): Promise<number>;
  stop(): Promise<void>;
}

/** Skip reason for tests needing sshd, or undefined (always undefined in CI, where a missing sshd fails). */
export function sshdSkip(): string | undefined {
  return skipUnless(SSHD, APT) ?? skipUnless(SSH_KEYGEN, APT);
}

/** Generate an unencrypted ed25519 key pair at `path` (and `path.pub`). */
export async function generateKey(path: string): Promise<void> {
  await run(SSH_KEYGEN, [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    "move_it-test",
    "-f",
    path,
  ]);
}

function config(dir: string, port: number): string {
  return sshdConfig(dir, port, [
    "MaxSessions 20",
    "MaxStartups 50",
    "LogLevel VERBOSE",
  ]);
}

/** Start sshd; stop it with `stop()` (in `after`). Throws when sshd is missing. */
export async function startSshd(): Promise<SshdServer> {
  requireBinary(SSHD, APT);
  requireBinary(SSH_KEYGEN, APT);
  await mkdir("/run/sshd", { recursive: true, mode: 0o755 }); // sshd's privilege separation directory
  const dir = await mkdtemp(join(tmpdir(), "move_it-sshd-"));
  await chmod(dir, 0o755); // `nobody` must read authorized_keys
  await generateKey(join(dir, "host_key"));
  await generateKey(join(dir, "id_ed25519"));
  await writeFile(
    join(dir, "authorized_keys"),
    await readFile(join(dir, "id_ed25519.pub")),
    { mode: 0o644 },
  );
  const hostPublicKey = (await readFile(join(dir, "host_key.pub"), "utf8"))
    .split(" ")
    .slice(0, 2)
    .join(" ");
  const { daemon, port } = await startOnFreePort(
    "sshd",
    "SSH-2.0-",
    async (port) => {
      await writeFile(join(dir, "sshd_config"), config(dir, port));
      await writeFile(
        join(dir, "known_hosts"),
        `[${LOCALHOST}]:${port} ${hostPublicKey}\n`,
      );
      return {
        daemon: startDaemon(SSHD, ["-D", "-e", "-f", join(dir, "sshd_config")]),
      };
    },
  ).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  return {
    host: LOCALHOST,
    port,
    dir,
    clientKey: join(dir, "id_ed25519"),
    knownHosts: join(dir, "known_hosts"),
    hostPublicKey,
    lines: () => [...daemon.lines],
    logins: () =>
      daemon.lines.filter((l) => l.startsWith("Accepted publickey for "))
        .length,
    killSessions: () => daemon.killSessions(),
    stop: async () => {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
