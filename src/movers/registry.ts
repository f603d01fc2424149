/**
 * Scheme → mover. The server reaches movers only through this registry.
 */
import { TransferError } from "../errors.js";
import { FileMover } from "./file.js";
import { networkMovers } from "./network.js";
import type { Mover } from "./mover.js";

/** S3 buckets as sources (polled listings, streamed fetches), for server sections with an `s3://` origin. */
export { BucketSource, ObjectFetcher, type BucketObject } from "./s3-source.js";

export class MoverRegistry {
  private readonly byScheme = new Map<string, Mover>();

  constructor(movers: Iterable<Mover> = []) {
    for (const m of movers) this.register(m);
  }

  /** Add (or replace) the mover for each of its schemes. */
  register(mover: Mover): this {
    for (const s of mover.schemes) this.byScheme.set(s, mover);
    return this;
  }

  /** The mover for a scheme; TransferError naming the scheme if none. */
  get(scheme: string): Mover {
    const m = this.byScheme.get(scheme);
    if (m === undefined)
      throw new TransferError(`unsupported destination scheme '${scheme}'`, {
        scheme,
        destination: scheme,
      });
    return m;
  }

  has(scheme: string): boolean {
    return this.byScheme.has(scheme);
  }

  /** Close every mover's connections. */
  async close(): Promise<void> {
    await Promise.allSettled(
      [...new Set(this.byScheme.values())].map((m) => m.close()),
    );
  }
}

/** The registry with every built-in mover. */
export function defaultMovers(): MoverRegistry {
  return new MoverRegistry([new FileMover(), ...networkMovers()]);
}
