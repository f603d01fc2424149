/**
 * `scp://user@host[:port]/path`. The file travels over the SFTP subsystem of
 * the same SSH server, not the legacy scp protocol: the result on the remote
 * side is the same file, and SFTP is what lets us upload under a temporary
 * name and rename it into place. Everything else (keys, known_hosts, backup
 * targets, connection reuse) is the sftp mover's.
 */
import { SftpMover } from "./sftp.js";

/** The sftp mover, serving the `scp` scheme. */
export class ScpMover extends SftpMover {
  override readonly schemes: readonly string[] = ["scp"];
}
