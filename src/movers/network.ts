/** The network movers: ftp, scp, sftp and s3, each with its own connection cache. */
import type { Logger } from "../log.js";
import { FtpMover } from "./ftp.js";
import type { Mover } from "./mover.js";
import { S3Mover } from "./s3.js";
import { ScpMover } from "./scp.js";
import { SftpMover } from "./sftp.js";

/** One mover per network scheme; `log` receives their connection-cache events (connections closed). */
export function networkMovers(log?: Logger): Mover[] {
  const opts = log === undefined ? {} : { log };
  return [new FtpMover(opts), new SftpMover(opts), new ScpMover(opts), new S3Mover()];
}
