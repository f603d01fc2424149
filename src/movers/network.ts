/** The network movers (ftp, scp, sftp). */
import type { Mover } from "./mover.js";

export function networkMovers(): Mover[] {
  return [];
}
