/**
 * A real FTP server for tests: vsftpd on 127.0.0.1 and a free port, with
 * config and root in a temp dir. Anonymous-only, with writes allowed in
 * `/pub` (owned by the `ftp` account vsftpd maps anonymous users to, so
 * file permissions apply for real); the anonymous password must be one of
 * `passwords` (vsftpd's secure_email_list), so a wrong password is refused
 * with 530 like any login. Other user names get 530 too. Passive ports are a
 * small range on 127.0.0.1. Sessions are logged to a file in the temp dir.
 */
import { execFile } from "node:child_process";
import {
  chmod,
  chown,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  writeFile,
} from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  LOCALHOST,
  requireBinary,
  skipUnless,
  startDaemon,
  startOnFreePort,
} from "./daemon.js";

const run = promisify(execFile);

/** The FTP server binary. */
export const VSFTPD = "/usr/sbin/vsftpd";
const APT = "vsftpd";

/** A running vsftpd. */
export interface FtpdServer {
  host: string;
  port: number;
  /** The anonymous root on disk (`/` for clients); removed by stop. */
  root: string;
  /** `<root>/pub` on disk: `/pub` for clients, writable. */
  pub: string;
  /** Passwords accepted for `anonymous`. */
  passwords: readonly string[];
  /** FTP connections accepted so far (vsftpd's CONNECT log lines). */
  connections(): Promise<number>;
  /** Successful logins so far. */
  logins(): Promise<number>;
  /** Kill the server's per-connection processes (clients see their connections die); returns how many. */
  killSessions(): Promise<number>;
  stop(): Promise<void>;
}

/** Skip reason for tests needing vsftpd, or undefined (always undefined in CI, where a missing vsftpd fails). */
export function ftpdSkip(): string | undefined {
  return skipUnless(VSFTPD, APT);
}

async function ftpAccount(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run("getent", ["passwd", "ftp"]).catch(() => ({
    stdout: "",
  }));
  const fields = stdout.trim().split(":");
  if (fields.length < 4)
    throw new Error(
      "no `ftp` account (the vsftpd package creates it): apt-get install -y vsftpd",
    );
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function config(
  dir: string,
  port: number,
  pasv: number,
  maxRate: number | undefined,
): string {
  return [
    "listen=YES",
    "listen_ipv6=NO",
    `listen_address=${LOCALHOST}`,
    `listen_port=${port}`,
    "background=NO",
    "anonymous_enable=YES",
    "local_enable=NO",
    "write_enable=YES",
    "anon_upload_enable=YES",
    "anon_mkdir_write_enable=YES",
    "anon_other_write_enable=YES",
    "anon_world_readable_only=NO",
    "anon_umask=022",
    `anon_root=${join(dir, "root")}`,
    "secure_email_list_enable=YES",
    `email_password_file=${join(dir, "passwords")}`,
    "pasv_enable=YES",
    `pasv_address=${LOCALHOST}`,
    `pasv_min_port=${pasv}`,
    `pasv_max_port=${pasv + 49}`,
    "connect_from_port_20=NO",
    "seccomp_sandbox=NO",
    "isolate_network=NO",
    "xferlog_enable=YES",
    "xferlog_std_format=NO",
    `vsftpd_log_file=${join(dir, "vsftpd.log")}`,
    "secure_chroot_dir=/var/run/vsftpd/empty",
    "max_clients=50",
    "max_per_ip=50",
    // Bytes per second of each anonymous transfer (vsftpd's own throttle): 0, unlimited.
    `anon_max_rate=${maxRate ?? 0}`,
    "",
  ].join("\n");
}

export interface FtpdOptions {
  passwords?: string[];
  /** At most this many bytes per second in each transfer (a slow link: an upload seen while it runs). */
  maxRate?: number;
}

/** A vsftpd's files on disk: config dir, anonymous root and its writable `pub`. */
export interface FtpdTree {
  dir: string;
  root: string;
  pub: string;
  passwords: string[];
  /** Write `vsftpd.conf` for a port and a passive range start; returns its path. */
  configure(port: number, pasv: number): Promise<string>;
}

/** Make the directories, account-owned `pub` and password list a vsftpd needs. Root only. */
export async function ftpdTree(opts: FtpdOptions = {}): Promise<FtpdTree> {
  requireBinary(VSFTPD, APT);
  if (userInfo().uid !== 0)
    throw new Error("vsftpd must be started as root for these tests");
  const ftp = await ftpAccount();
  await mkdir("/var/run/vsftpd/empty", { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), "move_it-ftpd-"));
  const root = join(dir, "root");
  const pub = join(root, "pub");
  await chmod(dir, 0o755);
  await mkdir(pub, { recursive: true, mode: 0o755 });
  await chmod(root, 0o755); // not writable by `ftp`: vsftpd refuses a writable chroot
  await chown(pub, ftp.uid, ftp.gid);
  const passwords = opts.passwords ?? ["anonymous@", "s3cret-Passw0rd"];
  await writeFile(join(dir, "passwords"), `${passwords.join("\n")}\n`);
  return {
    dir,
    root,
    pub,
    passwords,
    configure: async (port, pasv) => {
      const path = join(dir, "vsftpd.conf");
      await writeFile(path, config(dir, port, pasv, opts.maxRate), {
        mode: 0o600,
      });
      return path;
    },
  };
}

/** Start vsftpd; stop it with `stop()` (in `after`). Throws when vsftpd is missing. */
export async function startFtpd(opts: FtpdOptions = {}): Promise<FtpdServer> {
  const tree = await ftpdTree(opts);
  const { dir, root, pub, passwords } = tree;
  const { daemon, port } = await startOnFreePort(
    "vsftpd",
    "220",
    async (port) => {
      const pasv = 20_000 + Math.floor(Math.random() * 40_000);
      return {
        daemon: startDaemon(VSFTPD, [await tree.configure(port, pasv)]),
      };
    },
  ).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const log = (): Promise<string> =>
    readFile(join(dir, "vsftpd.log"), "utf8").catch(() => "");
  const count = async (re: RegExp): Promise<number> =>
    (await log()).split("\n").filter((l) => re.test(l)).length;
  return {
    host: LOCALHOST,
    port,
    root,
    pub,
    passwords,
    connections: () => count(/ CONNECT: Client /),
    logins: () => count(/ OK LOGIN: Client /),
    killSessions: () => daemon.killSessions(),
    stop: async () => {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
