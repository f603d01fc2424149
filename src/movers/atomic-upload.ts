/**
 * The last step of a network push, on one connection: nobody ever sees a
 * partial file under its final name. The target directory is made, the
 * file written under a temporary name next to the final one, then renamed
 * into place. A failed or aborted upload removes the temporary file when
 * the connection still allows it. The temporary is noted in the journal
 * before its upload starts and struck off once it is renamed or removed,
 * so one that a crash (or a lost connection) leaves behind can be removed
 * later (`removeEach`, through NetworkMover.removeTemporaries).
 */
import { posix } from "node:path";
import { StepError } from "../errors.js";
import type { Logger } from "../log.js";
import { abortable } from "../util/abort.js";
import {
  temporaryName,
  type RemoteTemporary,
  type TemporaryJournal,
} from "./mover.js";
import type {
  Login,
  ProtocolAdapter,
  RemoteConnection,
  UploadSource,
} from "./network-mover.js";

/** Where an upload notes its temporary: the request's journal, and the remote and login it goes to. */
export interface JournalPlace {
  journal: TemporaryJournal | undefined;
  remote: Omit<RemoteTemporary, "path" | "final">;
}

/** Upload `from` to `final` on `conn` through a temporary name. Throws the step's error (or the signal's reason). */
export async function uploadAtomically<C extends RemoteConnection>(
  protocol: ProtocolAdapter<C, Login>,
  conn: C,
  from: UploadSource,
  final: string,
  signal: AbortSignal,
  place?: JournalPlace,
): Promise<void> {
  const stop = (): void => protocol.close(conn);
  const dir = posix.dirname(final);
  await abortable(signal, () => protocol.mkdir(conn, dir), stop).catch(
    (err: unknown) => {
      throw signal.aborted
        ? signal.reason
        : err instanceof StepError
          ? err
          : protocol.fail(err, conn, "mkdir", dir, posix.dirname(dir));
    },
  );
  const tmp = temporaryName(final);
  const journal = place?.journal;
  const noted =
    place === undefined ? undefined : { ...place.remote, path: tmp, final };
  if (journal !== undefined && noted !== undefined) await journal.note(noted);
  const gone = (): void => {
    if (noted !== undefined) journal?.gone(noted);
  };
  let step = "upload";
  try {
    await abortable(
      signal,
      () => protocol.upload(conn, from, tmp, signal),
      stop,
    );
    step = "rename";
    await abortable(signal, () => protocol.rename(conn, tmp, final), stop);
    gone();
  } catch (err) {
    if (conn.alive)
      await protocol.remove(conn, tmp).then(gone, () => undefined);
    if (signal.aborted) throw signal.reason;
    throw protocol.fail(err, conn, step, step === "upload" ? tmp : final, dir);
  }
}

/**
 * Remove each of `paths` in turn; resolves with those now gone. A path that
 * cannot be removed is logged and skipped; a connection that died ends it.
 */
export async function removeEach(
  paths: readonly string[],
  remove: (path: string) => Promise<void>,
  alive: () => boolean,
  log: Logger,
): Promise<string[]> {
  const gone: string[] = [];
  for (const path of paths) {
    try {
      await remove(path);
      gone.push(path);
    } catch (err) {
      if (!alive()) throw err;
      log.warn({ err, path }, "remote temporary not removed");
    }
  }
  return gone;
}
