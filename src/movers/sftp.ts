/**
 * `sftp://user@host[:port]/path`: the SFTP protocol adapter of the network
 * mover (network-mover.ts runs the push: failover, pool, atomic upload).
 * The file is streamed (ssh2's parallel fastPut, never read whole into
 * memory); the rename into place uses posix-rename@openssh.com when the
 * server has it (an existing target is replaced atomically), else removes
 * the target and renames. Remote directories are created. Logging in (keys,
 * agent, known_hosts) is ssh-connection.ts.
 */
import { posix } from "node:path";
import { StepError, errorMessage } from "../errors.js";
import type { Logger } from "../log.js";
import { hostPort } from "./endpoints.js";
import { NetworkMover, type ProtocolAdapter } from "./network-mover.js";
import {
  openSsh,
  sshOptions,
  type SshConnection,
  type SshOptions,
} from "./ssh-connection.js";

/** SFTP status codes (draft-ietf-secsh-filexfer) that get their own wording. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

function sftpCode(err: unknown): unknown {
  return (err as { code?: unknown } | undefined)?.code;
}

/** Word a failed SFTP request on `path` (`dir`: the directory to name when permission is denied). */
function stepError(
  err: unknown,
  conn: SshConnection,
  what: string,
  path: string,
  dir: string,
): StepError {
  const code = sftpCode(err);
  if (code === PERMISSION_DENIED)
    return new StepError(`permission denied on ${dir}`, { cause: err });
  if (code === NO_SUCH_FILE)
    return new StepError(`no such file or directory: ${path}`, { cause: err });
  if (!conn.alive)
    return new StepError(
      `connection lost to ${hostPort(conn.endpoint)} during ${what} of ${path}`,
      { cause: err },
    );
  return new StepError(`${what} of ${path} failed: ${errorMessage(err)}`, {
    cause: err,
  });
}

/** Create `dir` and its missing parents; a directory made meanwhile by someone else is fine. */
async function ensureDir(conn: SshConnection, dir: string): Promise<void> {
  if (dir === "/" || dir === "." || dir === "") return;
  try {
    const st = await conn.sftp.stat(dir);
    if (st.isDirectory) return;
    throw new StepError(`not a directory: ${dir}`);
  } catch (err) {
    if (err instanceof StepError) throw err;
    if (sftpCode(err) !== "ENOENT")
      throw stepError(err, conn, "stat", dir, posix.dirname(dir));
  }
  await ensureDir(conn, posix.dirname(dir));
  try {
    await conn.sftp.mkdir(dir, false);
  } catch (err) {
    const made = await conn.sftp.stat(dir).then(
      (st) => st.isDirectory,
      () => false,
    );
    if (!made) throw stepError(err, conn, "mkdir", dir, posix.dirname(dir));
  }
}

/** Rename `tmp` to `final`, replacing an existing `final`. */
async function replace(
  conn: SshConnection,
  tmp: string,
  final: string,
): Promise<void> {
  if (conn.posixRename !== false) {
    try {
      await conn.sftp.posixRename(tmp, final);
      conn.posixRename = true;
      return;
    } catch (err) {
      if (!/not support/i.test(errorMessage(err))) throw err;
      conn.posixRename = false;
    }
  }
  await conn.sftp.delete(final, true);
  await conn.sftp.rename(tmp, final);
}

/** Who logs in: the URL's user (else the local one) with its password, the key and known_hosts in use. */
interface SshLogin {
  readonly user: string;
  readonly secrets: readonly (string | undefined)[];
  readonly ssh: SshOptions;
}

/** SFTP as the network mover's protocol. */
export const sftpProtocol: ProtocolAdapter<SshConnection, SshLogin> = {
  defaultPort: 22,
  connectTimeout: (p) => p.sshConnectionTimeout,
  login: (req, _ep, p, timeoutMs) => {
    const ssh = sshOptions(req.destination, p, timeoutMs);
    return {
      user: ssh.username,
      secrets: [ssh.password, ssh.keyFile, ssh.knownHosts],
      ssh,
    };
  },
  open: (ep, login, signal, log) => openSsh(ep, login.ssh, signal, log),
  home: (conn) => conn.home(),
  mkdir: (conn, dir) => ensureDir(conn, dir),
  upload: async (conn, from, path, signal) => {
    if (from.stream === undefined) await conn.sftp.fastPut(from.source, path);
    else await conn.sftp.put(await from.stream.open(signal), path);
  },
  rename: (conn, from, to) => replace(conn, from, to),
  remove: async (conn, path) => void (await conn.sftp.delete(path, true)),
  close: (conn) => conn.destroy(),
  fail: (err, conn, step, path, dir) => stepError(err, conn, step, path, dir),
};

/** The mover for `sftp://` (and, through ScpMover, `scp://`). */
export class SftpMover extends NetworkMover<SshConnection, SshLogin> {
  readonly schemes: readonly string[] = ["sftp"];

  constructor(opts: { log?: Logger } = {}) {
    super(sftpProtocol, opts);
  }
}
