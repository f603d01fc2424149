/**
 * Per-file metadata calls (stat, realpath, link, rename, unlink) and copies
 * of small files made on the spot when the directory is on a local
 * filesystem, through libuv's thread pool otherwise.
 *
 * Why: on the machines move_it runs on (virtual machines, two cores), one
 * thread-pool round trip costs far more than the call itself: the worker is
 * woken, does a 2–20 µs syscall, and wakes the event loop back through an
 * eventfd. Measured on a 1000-file burst, the server's four such calls per
 * file were half of its CPU per file (docs/performance.md). A local stat or
 * link does not block for long, so it is made synchronously. On a network
 * filesystem (NFS, CIFS, FUSE, Ceph, Lustre, ...) a call can hang for as
 * long as the server is away, which must never stop the event loop, so
 * there, and wherever the type is not known yet, the thread pool is used.
 *
 * The type comes from statfs(2) of the directory, asked asynchronously the
 * first time a directory is seen (until the answer is in, calls go through
 * the pool) and asked again after a minute, so a remount is noticed.
 */
import {
  constants,
  copyFileSync,
  linkSync,
  lstatSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  type BigIntStats,
  type Stats,
} from "node:fs";
import {
  copyFile,
  link,
  lstat,
  realpath,
  rename,
  statfs,
  stat,
  unlink,
} from "node:fs/promises";
import { dirname } from "node:path";

/**
 * statfs f_type magic numbers of filesystems whose metadata calls never wait
 * on a network (linux/magic.h). Anything else counts as possibly remote.
 */
const LOCAL_TYPES = new Set<number>([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0x794c7630, // overlayfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0x3153464a, // jfs
  0x52654973, // reiserfs
  0x4d44, // vfat
  0x2011bab0, // exfat
  0x5346544e, // ntfs (ntfs3)
  0x73717368, // squashfs
  0x9660, // iso9660
]);

const RECHECK_MS = 60_000;

interface Known {
  local: boolean;
  checkedAt: number;
  checking: boolean;
}

const dirs = new Map<string, Known>();

/** Directories remembered at most; beyond that the map starts afresh (a tree of thousands is unusual). */
const MAX_DIRS = 4096;

function ask(dir: string, known: Known): void {
  known.checking = true;
  statfs(dir).then(
    (st) => {
      known.local = LOCAL_TYPES.has(Number(st.type));
      known.checkedAt = Date.now();
      known.checking = false;
    },
    () => {
      // A directory that is not there (yet) is asked again next time.
      dirs.delete(dir);
    },
  );
}

/** True when `dir` is known to be on a local filesystem; starts finding out when not known. */
export function isLocalDir(dir: string): boolean {
  const known = dirs.get(dir);
  if (known === undefined) {
    if (dirs.size >= MAX_DIRS) dirs.clear();
    const fresh: Known = { local: false, checkedAt: 0, checking: false };
    dirs.set(dir, fresh);
    ask(dir, fresh);
    return false;
  }
  if (!known.checking && Date.now() - known.checkedAt > RECHECK_MS)
    ask(dir, known);
  return known.local;
}

/** Resolves once the filesystem type of `dir` is known (tests, and a daemon's start for its watched roots). */
export async function learnDir(dir: string): Promise<boolean> {
  const st = await statfs(dir);
  const local = LOCAL_TYPES.has(Number(st.type));
  dirs.set(dir, { local, checkedAt: Date.now(), checking: false });
  return local;
}

/** Run `now` on the spot (its throw becomes a rejection) when local, else `later`. */
function either<T>(
  local: boolean,
  now: () => T,
  later: () => Promise<T>,
): Promise<T> {
  if (!local) return later();
  try {
    return Promise.resolve(now());
  } catch (err) {
    return Promise.reject(err);
  }
}

export function statBig(path: string): Promise<BigIntStats> {
  return either(
    isLocalDir(dirname(path)),
    () => statSync(path, { bigint: true }),
    () => stat(path, { bigint: true }),
  );
}

export function statOf(path: string): Promise<Stats> {
  return either(
    isLocalDir(dirname(path)),
    () => statSync(path),
    () => stat(path),
  );
}

export function lstatOf(path: string): Promise<Stats> {
  return either(
    isLocalDir(dirname(path)),
    () => lstatSync(path),
    () => lstat(path),
  );
}

/** The C library's realpath(3), as `fs.promises.realpath` is. */
export function realpathOf(path: string): Promise<string> {
  return either(
    isLocalDir(dirname(path)),
    () => realpathSync.native(path),
    () => realpath(path),
  );
}

export function linkAs(existing: string, target: string): Promise<void> {
  return either(
    isLocalDir(dirname(existing)) && isLocalDir(dirname(target)),
    () => linkSync(existing, target),
    () => link(existing, target),
  );
}

export function renameTo(from: string, to: string): Promise<void> {
  return either(
    isLocalDir(dirname(from)) && isLocalDir(dirname(to)),
    () => renameSync(from, to),
    () => rename(from, to),
  );
}

export function unlinkOf(path: string): Promise<void> {
  return either(
    isLocalDir(dirname(path)),
    () => unlinkSync(path),
    () => unlink(path),
  );
}

/**
 * Files up to this size are copied on the spot between local directories:
 * the copy takes a few microseconds, less than the thread-pool round trip.
 */
export const SYNC_COPY_MAX = 64 * 1024;

/**
 * Copy `source` to `target` (a reflink where the filesystem can), which must
 * not exist yet. Small files between local directories are copied on the
 * spot; anything else, and every file on a network filesystem, through the
 * thread pool, so a big copy never holds up the event loop.
 */
export function copyNew(source: string, target: string): Promise<void> {
  const flags = constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE;
  const local = isLocalDir(dirname(source)) && isLocalDir(dirname(target));
  if (local) {
    try {
      if (statSync(source).size <= SYNC_COPY_MAX) {
        copyFileSync(source, target, flags);
        return Promise.resolve();
      }
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return copyFile(source, target, flags);
}
