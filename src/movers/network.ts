/** The network movers: ftp, scp, sftp (network-mover.ts, each with its pool of connections) and s3. */
import type { Logger } from "../log.js";
import { FtpMover } from "./ftp.js";
import type { Mover } from "./mover.js";
import { S3Mover } from "./s3.js";
import { ScpMover } from "./scp.js";
import { SftpMover } from "./sftp.js";

/** One mover per network scheme; `log` receives their connection pools' events (connections closed). */
export function networkMovers(log?: Logger): Mover[] {
  const opts = log === undefined ? {} : { log };
  return [
    new FtpMover(opts),
    new SftpMover(opts),
    new ScpMover(opts),
    new S3Mover(),
  ];
}
