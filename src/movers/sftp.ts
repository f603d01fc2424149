/**
 * `sftp://user@host[:port]/path`: upload over SFTP. The file is streamed
 * (ssh2's parallel fastPut, never read whole into memory) to a temporary
 * name in the target directory, then renamed into place with
 * posix-rename@openssh.com when the server has it (an existing target is
 * replaced atomically), else by removing the target and renaming. Remote
 * directories are created. Sessions are cached and pooled per host (see
 * connection-cache.ts); backup targets are tried when a host is unreachable.
 */
import { posix } from "node:path";
import { StepError, errorMessage } from "../errors.js";
import { PooledMover, type AcquireOptions } from "./connection-cache.js";
import { targetPath, type CleanupRequest, type MoveRequest, type MoveResult, type StreamSource } from "./mover.js";
import {
  abortable,
  moveWithFailover,
  removeEach,
  uploadAtomically,
  type JournalPlace,
  type UploadOps,
  timedOpen,
  hostPort,
  networkParameters,
  networkSettings,
  secretDigest,
  type Endpoint,
  type NetworkSettings,
} from "./remote.js";
import { openSsh, sshOptions, type SshConnection, type SshOptions } from "./ssh-connection.js";

/** SFTP status codes (draft-ietf-secsh-filexfer) that get their own wording. */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

function sftpCode(err: unknown): unknown {
  return (err as { code?: unknown } | undefined)?.code;
}

/** Word a failed SFTP request on `path` (`dir`: the directory to name when permission is denied). */
function stepError(err: unknown, conn: SshConnection, what: string, path: string, dir: string): StepError {
  const code = sftpCode(err);
  if (code === PERMISSION_DENIED) return new StepError(`permission denied on ${dir}`, { cause: err });
  if (code === NO_SUCH_FILE) return new StepError(`no such file or directory: ${path}`, { cause: err });
  if (!conn.alive) return new StepError(`connection lost to ${hostPort(conn.endpoint)} during ${what} of ${path}`, { cause: err });
  return new StepError(`${what} of ${path} failed: ${errorMessage(err)}`, { cause: err });
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
    if (sftpCode(err) !== "ENOENT") throw stepError(err, conn, "stat", dir, posix.dirname(dir));
  }
  await ensureDir(conn, posix.dirname(dir));
  try {
    await conn.sftp.mkdir(dir, false);
  } catch (err) {
    const made = await conn.sftp.stat(dir).then((st) => st.isDirectory, () => false);
    if (!made) throw stepError(err, conn, "mkdir", dir, posix.dirname(dir));
  }
}

/** Rename `tmp` to `final`, replacing an existing `final`. */
async function replace(conn: SshConnection, tmp: string, final: string): Promise<void> {
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

/** Upload `source` to `final` through a temporary name; the temporary file is removed on failure. */
async function upload(conn: SshConnection, source: string, stream: StreamSource | undefined, final: string, signal: AbortSignal, place: JournalPlace): Promise<void> {
  const dir = posix.dirname(final);
  await abortable(signal, () => ensureDir(conn, dir), () => conn.destroy());
  const ops: UploadOps = {
    put: async (tmp) => void (stream === undefined ? await conn.sftp.fastPut(source, tmp) : await conn.sftp.put(await stream.open(signal), tmp)),
    rename: (tmp, to) => replace(conn, tmp, to),
    remove: async (tmp) => void (await conn.sftp.delete(tmp, true)),
    usable: () => conn.alive,
    stop: () => conn.destroy(),
    fail: (err, step, path) => stepError(err, conn, step, path, dir),
  };
  await uploadAtomically(ops, final, signal, place);
}

/** The mover for `sftp://` (and, through ScpMover, `scp://`). */
export class SftpMover extends PooledMover<SshConnection> {
  readonly schemes: readonly string[] = ["sftp"];

  move(req: MoveRequest): Promise<MoveResult> {
    return moveWithFailover(req, 22, (name) => {
      const p = networkParameters(req);
      const settings = networkSettings(p, p.sshConnectionTimeout);
      const ssh = sshOptions(req.destination, p, settings.connectTimeoutMs);
      return (ep) => {
        const place = { journal: req.temporaries, remote: { scheme: req.destination.scheme, host: ep.host, port: ep.port, user: ssh.username } };
        return this.cache.use(this.acquireOptions(req, ep, settings, ssh), (conn, reused) => this.push(req, conn, reused, name, place));
      };
    });
  }

  /** Remove temporaries a crashed push left, logged in as a push would be (key, agent, URL password). */
  async removeTemporaries(req: CleanupRequest): Promise<string[]> {
    const p = networkParameters(req);
    const settings = networkSettings(p, p.sshConnectionTimeout);
    const ep = { host: req.destination.hostname, port: req.destination.port ?? 22 };
    const opts = this.acquireOptions(req, ep, settings, sshOptions(req.destination, p, settings.connectTimeoutMs));
    return this.cache.use(opts, (conn) => removeEach(req.paths, async (path) => void (await conn.sftp.delete(path, true)), () => conn.alive, req.log));
  }

  private acquireOptions(req: Pick<MoveRequest, "signal" | "log" | "destination">, ep: Endpoint, settings: NetworkSettings, ssh: SshOptions): AcquireOptions<SshConnection> {
    const scheme = req.destination.scheme;
    const label = `${scheme}://${ssh.username}@${hostPort(ep)}`;
    return {
      key: `${label}#${secretDigest(ssh.password, ssh.keyFile, ssh.knownHosts)}`,
      label,
      uptimeMs: settings.uptimeMs,
      maxConnections: settings.maxConnections,
      signal: req.signal,
      open: (signal) => timedOpen(label, req.log, () => openSsh(ep, ssh, signal, req.log)),
    };
  }

  private async push(req: MoveRequest, conn: SshConnection, reused: boolean, name: string, place: JournalPlace): Promise<string> {
    const started = Date.now();
    const final = req.destination.path === "" ? posix.join(await conn.home(), name) : targetPath(req.destination.path, name);
    await upload(conn, req.source, req.stream, final, req.signal, place);
    req.log.debug({ path: final, host: hostPort(conn.endpoint), reused, durationMs: Date.now() - started }, "file uploaded");
    return final;
  }
}
