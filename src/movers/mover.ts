/**
 * The mover interface: deliver one local file to a destination URL. Each
 * scheme (file, ftp, scp, sftp) has one; the registry picks it.
 */
import type { Logger } from "../log.js";
import type { ParsedUrl } from "../util/url.js";

export interface MoveRequest {
  /** Absolute local path of the file to send. */
  source: string;
  /** Where to: a directory (path ends in `/`, the name is kept) or a full file path. Carries credentials. */
  destination: ParsedUrl;
  /** The chain's `connection_parameters__*` settings, nested. */
  connectionParameters: Readonly<Record<string, unknown>>;
  /** Alternative hosts tried in order when the destination host cannot be reached (scp/sftp). */
  backupTargets?: readonly string[];
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
  /** Close cached connections. Idempotent. */
  close(): Promise<void>;
}

/** The final remote path: a directory destination keeps the source's name. */
export function targetPath(destPath: string, sourceName: string): string {
  if (destPath === "" || destPath.endsWith("/")) return `${destPath || "/"}${sourceName}`;
  return destPath;
}

/** A temporary name next to the final one, so nobody sees a partial file under its final name. */
export function temporaryName(finalName: string): string {
  const slash = finalName.lastIndexOf("/");
  const dir = finalName.slice(0, slash + 1);
  const base = finalName.slice(slash + 1);
  return `${dir}.${base}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.part`;
}
