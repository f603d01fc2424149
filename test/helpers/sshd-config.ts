/**
 * The sshd_config of a throw-away OpenSSH server on 127.0.0.1, shared by the
 * tests' sshd (test/helpers/sshd.ts) and the benchmark's (bench/sshd.ts).
 */
import { join } from "node:path";

/**
 * sshd_config for a server on 127.0.0.1:`port` with everything in `dir`;
 * `extra` lines are appended (the tests raise limits and log more).
 */
export function sshdConfig(
  dir: string,
  port: number,
  extra: readonly string[] = ["LogLevel ERROR"],
): string {
  return [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_key")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    "StrictModes no",
    "UsePAM no",
    "PermitRootLogin yes",
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "Subsystem sftp internal-sftp",
    ...extra,
    "",
  ].join("\n");
}
