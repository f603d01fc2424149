/**
 * The mover interface: deliver one local file to a destination URL. Each
 * scheme (file, ftp, scp, sftp) has one; the registry picks it.
 */
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { NetworkParameters } from "../config/connection-parameters.js";
import { StepError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ParsedUrl } from "../util/url.js";

/**
 * Bytes that are not a local file (an object a bucket section announced),
 * streamed to the destination without a local copy.
 */
export interface StreamSource {
  /** Where the bytes come from (`s3://bucket/key`), for logs. */
  readonly uri: string;
  /** Their size, known before reading. */
  readonly size: number;
  /** Their sha256 (hex) when the source names it (the stream checks it). */
  readonly sha256?: string | undefined;
  /**
   * Open them from the start (once per attempt). The stream fails before it
   * ends when what arrived is not what is expected (size, or the sha256 the
   * object carries): the mover then leaves nothing under the final name.
   */
  open(signal: AbortSignal): Promise<Readable>;
  /** An S3 object: a destination on the same store may copy it server-side. */
  readonly object?: {
    readonly endpoint: string | undefined;
    readonly bucket: string;
    readonly key: string;
    readonly etag: string | undefined;
  };
}

export interface MoveRequest {
  /** Absolute local path of the file to send; with `stream`, only its last part counts (the name). */
  source: string;
  /** Send these bytes instead of reading `source`. */
  stream?: StreamSource | undefined;
  /** Where to: a directory (path ends in `/`, the name is kept) or a full file path. Carries credentials. */
  destination: ParsedUrl;
  /** The chain's `connection_parameters__*` settings, nested (the S3 movers read theirs here). */
  connectionParameters: Readonly<Record<string, unknown>>;
  /**
   * The ftp/sftp/scp settings, typed and checked when the config was loaded.
   * Absent (library use, tests): read from `connectionParameters` by the
   * same reader, at the push.
   */
  network?: NetworkParameters;
  /** Alternative hosts tried in order when the destination host cannot be reached (scp/sftp). */
  backupTargets?: readonly string[];
  /** Told about each remote temporary (ftp, sftp, scp), so one a crash left can be removed later. */
  temporaries?: TemporaryJournal | undefined;
  signal: AbortSignal;
  log: Logger;
}

/** A temporary a network upload writes before renaming it into place: where it is, no credentials. */
export interface RemoteTemporary {
  /** The destination's scheme (`ftp`, `sftp`, `scp`). */
  readonly scheme: string;
  /** The host that took the upload (a backup target, maybe) and its port. */
  readonly host: string;
  readonly port: number;
  /** Who the mover logged in as. */
  readonly user: string;
  /** The temporary's path on that host. */
  readonly path: string;
  /** The final path it is renamed to. */
  readonly final: string;
}

/** Where a network mover notes its temporaries (the server's ledger). */
export interface TemporaryJournal {
  /** Note `tmp` before its upload starts; the upload waits for this (bounded by the journal). */
  note(tmp: RemoteTemporary): Promise<void>;
  /** `tmp` is gone: renamed into place, or removed after a failure. */
  gone(tmp: RemoteTemporary): void;
}

/** Temporaries to remove from one remote, logging in as a push to `destination` would. */
export interface CleanupRequest {
  /** `scheme://user[:password]@host:port/`: the path is not used. */
  destination: ParsedUrl;
  /** Absolute temporary paths on that host. */
  paths: readonly string[];
  connectionParameters: Readonly<Record<string, unknown>>;
  network?: NetworkParameters | undefined;
  signal: AbortSignal;
  log: Logger;
}

export interface MoveResult {
  /** Where the file now is, without credentials. */
  uri: string;
  bytes: number;
  /** How it got there, for logs and metrics: "link", "copy", "upload". */
  method: string;
}

export interface Mover {
  /** The URL schemes this mover serves. */
  readonly schemes: readonly string[];
  /** Deliver the file. Throws TransferError (or the signal's reason). */
  move(req: MoveRequest): Promise<MoveResult>;
  /**
   * Remove temporaries a crashed process left (network movers). Resolves
   * with the paths now gone (removed, or not there); throws when the remote
   * cannot be reached or logged in to.
   */
  removeTemporaries?(req: CleanupRequest): Promise<string[]>;
  /** Close cached connections. Idempotent. */
  close(): Promise<void>;
}

/** The final remote path: a directory destination keeps the source's name. */
export function targetPath(destPath: string, sourceName: string): string {
  if (destPath === "" || destPath.endsWith("/"))
    return `${destPath || "/"}${sourceName}`;
  return destPath;
}

/** A temporary name next to the final one, so nobody sees a partial file under its final name. */
export function temporaryName(finalName: string): string {
  const slash = finalName.lastIndexOf("/");
  const dir = finalName.slice(0, slash + 1);
  const base = finalName.slice(slash + 1);
  return `${dir}.${base}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.part`;
}

/** Size of the local file, with the file mover's wording when it is missing. */
export async function localSize(source: string): Promise<{ size: number }> {
  try {
    return await stat(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new StepError(`no such file or directory: ${source}`, {
        cause: err,
      });
    if (code === "EACCES")
      throw new StepError(`permission denied on ${source}`, { cause: err });
    throw err;
  }
}
