/**
 * `file://` and bare paths: a hard link when source and destination share a
 * filesystem (no data is copied), else a copy (reflink when the filesystem
 * can). Either way the file is made under a temporary name in the
 * destination directory and renamed into place.
 */
import { createWriteStream } from "node:fs";
import { access, mkdir, unlink } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { basename, dirname } from "node:path";
import { TransferError, errorMessage } from "../errors.js";
import {
  copyNew,
  linkAs,
  renameTo,
  statOf,
  unlinkOf,
} from "../util/local-fs.js";
import { formatUrl } from "../util/url.js";
import {
  targetPath,
  temporaryName,
  type MoveRequest,
  type MoveResult,
  type Mover,
  type StreamSource,
} from "./mover.js";

/** errno codes meaning "a hard link cannot be made here": fall back to copying. */
const NO_LINK = new Set([
  "EXDEV",
  "EPERM",
  "EMLINK",
  "ENOTSUP",
  "EOPNOTSUPP",
  "EACCES",
]);

export class FileMover implements Mover {
  readonly schemes = ["file"] as const;

  async move(req: MoveRequest): Promise<MoveResult> {
    const final = targetPath(req.destination.path, basename(req.source));
    const where = {
      scheme: "file",
      destination: formatUrl({ ...req.destination, path: final }),
    };
    req.signal.throwIfAborted();
    if (req.stream !== undefined)
      return this.write(req.stream, final, req.signal, where);
    // A hard link appears whole under its name in one step: with nothing there yet, no temporary is needed.
    const direct = await linkNew(req.source, final);
    if (direct !== undefined)
      return { uri: final, bytes: direct, method: "link" };
    const tmp = temporaryName(final);
    try {
      const method = await linkOrCopy(req.source, tmp).catch(
        async (err: NodeJS.ErrnoException) => {
          // Create the directory only when it is missing: mkdir -p on every move costs more than the move.
          if (err.code !== "ENOENT" || (await exists(req.source)) === false)
            throw err;
          await mkdir(dirname(final), { recursive: true });
          return linkOrCopy(req.source, tmp);
        },
      );
      req.signal.throwIfAborted();
      await renameTo(tmp, final);
      // When `final` already was a link to the same file, rename() does nothing and leaves `tmp`.
      if (method === "link") await unlinkOf(tmp).catch(() => undefined);
      const { size } = await statOf(final);
      return { uri: final, bytes: size, method };
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (req.signal.aborted) throw req.signal.reason;
      throw new TransferError(describe(err, final), where, { cause: err });
    }
  }

  /** Streamed bytes: written under a temporary name, renamed into place once the stream ended well. */
  private async write(
    stream: StreamSource,
    final: string,
    signal: AbortSignal,
    where: { scheme: string; destination: string },
  ): Promise<MoveResult> {
    const tmp = temporaryName(final);
    try {
      await mkdir(dirname(final), { recursive: true });
      await pipeline(
        await stream.open(signal),
        createWriteStream(tmp, { flags: "wx" }),
        { signal },
      );
      await renameTo(tmp, final);
      return { uri: final, bytes: stream.size, method: "stream" };
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (signal.aborted) throw signal.reason;
      throw new TransferError(describe(err, final), where, { cause: err });
    }
  }

  async close(): Promise<void> {
    // No connections to close.
  }
}

/**
 * Hard-link `source` as `final` if nothing has that name yet; the size
 * linked, or undefined when a link cannot be made there (another filesystem,
 * a name taken, a directory missing) and the general path must run.
 */
async function linkNew(
  source: string,
  final: string,
): Promise<number | undefined> {
  if (unlinkable.knows(source, final)) return undefined;
  try {
    await linkAs(source, final);
  } catch {
    return undefined;
  }
  return (await statOf(final)).size;
}

/**
 * Pairs of directories (source, destination) between which a hard link was
 * refused as impossible (EXDEV and the like), for a minute: a burst to
 * another filesystem then costs one copy a file, not two failed links and
 * their errors first. Asked again after the minute, so a remount is noticed.
 */
class NoLinkPairs {
  private static readonly FOR_MS = 60_000;
  private static readonly MAX = 4096;
  private readonly until = new Map<string, number>();

  knows(source: string, target: string): boolean {
    const key = NoLinkPairs.key(source, target);
    const until = this.until.get(key);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.until.delete(key);
    return false;
  }

  learn(source: string, target: string): void {
    if (this.until.size >= NoLinkPairs.MAX) this.until.clear();
    this.until.set(
      NoLinkPairs.key(source, target),
      Date.now() + NoLinkPairs.FOR_MS,
    );
  }

  private static key(source: string, target: string): string {
    return `${dirname(source)}\0${dirname(target)}`;
  }
}

const unlinkable = new NoLinkPairs();

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function linkOrCopy(
  source: string,
  tmp: string,
): Promise<"link" | "copy"> {
  if (!unlinkable.knows(source, tmp)) {
    try {
      await linkAs(source, tmp);
      return "link";
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (!NO_LINK.has(code)) throw err;
      unlinkable.learn(source, tmp);
    }
  }
  await copyNew(source, tmp);
  return "copy";
}

function describe(err: unknown, final: string): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case "ENOENT":
      return `no such file or directory: ${e.path ?? final}`;
    case "EACCES":
    case "EPERM":
      return `permission denied on ${e.path ?? dirname(final)}`;
    case "ENOSPC":
      return `no space left on device writing ${final}`;
    case "ENOTDIR":
      return `not a directory: ${e.path ?? dirname(final)}`;
    default:
      return errorMessage(err);
  }
}
