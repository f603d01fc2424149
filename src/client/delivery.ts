/**
 * What a client chain does around each push (the coordinator's hooks):
 * build the destination and create the local directory before; verify the
 * checksum after; then unpack, rewrite metadata and republish the `file`
 * (or `dataset`/`collection`) message naming where the file now is.
 */
import { mkdir, readdir, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ClientChainConfig } from "../config/index.js";
import type { Logger } from "../log.js";
import { Message } from "../message/index.js";
import { compose } from "../pattern/index.js";
import type { Announcement, TransferHooks } from "./coordinator.js";
import { expectedChecksums, verifyFile } from "./checksum.js";
import { isThisHost } from "../util/host.js";
import { statOf } from "../util/local-fs.js";
import { parseUrl } from "../util/url.js";
import {
  asDirectory,
  buildDestination,
  publishedBase,
  publishedUri,
  targetPath,
  type Destination,
} from "./destination.js";
import {
  entriesOf,
  receivedData,
  rewriteMetadata,
  type Stamp,
} from "./messages.js";
import { unpackReceived } from "./unpacking.js";
import { RecentSet } from "./recent.js";

export interface DeliveryOptions {
  /** The chain's current config (a reload may replace it). */
  config: () => ClientChainConfig;
  /** This host's name, for destinations naming no host. */
  hostname: string;
  /** Publish on the chain's publisher. */
  publish: (msg: Message) => Promise<void>;
  stamp: Stamp;
  log: Logger;
  /** Called with every republished message. */
  onReceived?: ((msg: Message) => void) | undefined;
}

/** Counters of post-processing. */
export interface DeliveryStats {
  /** Deliveries rejected for a wrong checksum. */
  checksumMismatches: number;
  /** Files checked against an announced checksum. */
  checksumsVerified: number;
  /** Messages republished after reception. */
  republished: number;
}

/** The coordinator's hooks for one client chain. */
export class Delivery implements TransferHooks {
  readonly stats: DeliveryStats = {
    checksumMismatches: 0,
    checksumsVerified: 0,
    republished: 0,
  };

  private readonly made = new RecentSet(1000);

  constructor(private readonly opts: DeliveryOptions) {}

  /** Compose the destination from the announcement; create the local directory. */
  async prepare(ann: Announcement): Promise<Destination> {
    const cfg = this.opts.config();
    const url = cfg.destination.includes("{")
      ? compose(cfg.destination, ann.msg.dataObject)
      : cfg.destination;
    let dest: Destination = {
      ...buildDestination(url, {
        login: cfg.login,
        hostname: this.opts.hostname,
      }),
      backupTargets: cfg.backupTargets,
    };
    const host = parseUrl(url).hostname;
    dest = {
      ...dest,
      published: publishedBase(
        url,
        cfg.login,
        host !== "" && (await isThisHost(host)),
      ),
    };
    if (!dest.local) return dest;
    // A configured directory written without its trailing "/" is still a directory.
    if (!dest.path.endsWith("/") && (await isDirectory(dest.path)))
      dest = asDirectory(dest);
    if (cfg.createTargetDirectory)
      await this.ensureDirectory(
        dest.path.endsWith("/") ? dest.path : dirname(dest.path),
      );
    return dest;
  }

  /** mkdir -p, once per directory (remembered, bounded); the server's mover recreates a directory removed since. */
  private async ensureDirectory(dir: string): Promise<void> {
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  /** Check announced checksums of a local delivery; a mismatch deletes the file and throws. */
  async verify(
    ann: Announcement,
    dest: Destination,
    signal: AbortSignal,
  ): Promise<void> {
    if (!this.opts.config().verifyChecksum || !dest.local) return;
    for (const { uri, checksum } of expectedChecksums(ann.msg.data)) {
      try {
        if (await verifyFile(targetPath(dest, uri), checksum, signal))
          this.stats.checksumsVerified++;
      } catch (err) {
        if (!signal.aborted) this.stats.checksumMismatches++;
        throw err;
      }
    }
  }

  /**
   * A local delivery already complete under its final name: every announced
   * file is there, with the announced `filesize` and (with verify_checksum)
   * checksum when the announcement has them. A file with a wrong checksum
   * is deleted (it will be fetched again).
   */
  async present(
    ann: Announcement,
    dest: Destination,
    signal: AbortSignal,
  ): Promise<boolean> {
    if (!dest.local) return false;
    const files = announcedFiles(ann.msg.data);
    if (files.length === 0) return false;
    for (const { uri, size, checksum } of files) {
      const path = targetPath(dest, uri);
      const st = await statOf(path).catch(() => undefined);
      if (
        st === undefined ||
        !st.isFile() ||
        (size !== undefined && st.size !== size)
      )
        return false;
      if (checksum === undefined || !this.opts.config().verifyChecksum)
        continue;
      if (
        !(await verifyFile(path, checksum, signal).then(
          () => true,
          () => false,
        ))
      )
        return false;
    }
    return true;
  }

  /** Remove the `.part` files a crashed push of this file left in a local destination. */
  async cleanup(ann: Announcement, dest: Destination): Promise<void> {
    if (!dest.local) return;
    for (const { uri } of announcedFiles(ann.msg.data)) {
      const path = targetPath(dest, uri);
      const dir = dirname(path);
      const prefix = `.${basename(path)}.`;
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names) {
        if (!name.startsWith(prefix) || !name.endsWith(".part")) continue;
        await unlink(join(dir, name)).catch(() => undefined);
        this.opts.log.info(
          { uid: ann.key, file: join(dir, name) },
          "partial file removed",
        );
      }
    }
  }

  /** Unpack, rewrite metadata, republish, and tell `onReceived`. */
  async complete(
    ann: Announcement,
    dest: Destination,
    signal: AbortSignal,
  ): Promise<void> {
    const cfg = this.opts.config();
    let type = ann.msg.type;
    let data = receivedData(ann.msg, ann.address, (uri) =>
      publishedUri(dest, uri),
    );
    if (cfg.compression !== undefined && dest.local) {
      const settings = {
        kind: cfg.compression,
        prog: cfg.xritdecompressor,
        deleteSource: cfg.delete,
        signal,
      };
      ({ type, data } = await unpackReceived(type, data, settings));
    } else if (cfg.compression !== undefined) {
      this.opts.log.warn(
        { uid: ann.key, destination: dest.public },
        "remote destination not unpacked",
      );
    }
    data = rewriteMetadata(data, cfg.metadataRewrites);
    const msg = new Message(ann.msg.subject, type, data, this.opts.stamp());
    await this.opts.publish(msg);
    this.stats.republished++;
    this.opts.log.debug({ uid: ann.key, type }, "republished");
    this.opts.onReceived?.(msg);
  }

  /** Publish on the chain's publisher. */
  async publish(msg: Message): Promise<void> {
    await this.opts.publish(msg);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Every object in the data with a `uri`: the file, or each dataset/collection item. */
function announcedFiles(
  value: unknown,
  out: Array<{ uri: string; size?: number; checksum?: string }> = [],
  depth = 0,
): Array<{ uri: string; size?: number; checksum?: string }> {
  if (depth > 32) return out;
  if (Array.isArray(value)) {
    for (const item of value) announcedFiles(item, out, depth + 1);
    return out;
  }
  const entries = entriesOf(value);
  const get = (k: string): unknown => entries.find(([key]) => key === k)?.[1];
  const uri = get("uri");
  if (typeof uri === "string") {
    const size = get("filesize");
    const checksum = get("checksum");
    out.push({
      uri,
      ...(typeof size === "number" ? { size } : {}),
      ...(typeof checksum === "string" ? { checksum } : {}),
    });
  }
  for (const [, item] of entries)
    if (typeof item === "object" && item !== null)
      announcedFiles(item, out, depth + 1);
  return out;
}
