/**
 * The upstream announcements a relaying client (the mirror) keeps, so it can
 * fetch a file when a downstream client asks: bounded, and an entry nobody
 * asked for is forgotten after a while.
 */
import type { Announcement } from "./coordinator.js";
import type { Destination } from "./destination.js";

/**
 * The mirror's way of using a client: every new file is reported at once
 * (to be re-announced downstream) and fetched only when `fetch()` asks,
 * unless `prefetch`. Announcements are kept, bounded, and expire when
 * nobody asked for them.
 */
export interface RelayOptions {
  onAnnounced(ann: Announcement): void;
  /** Fetch on announcement instead of on request. */
  prefetch: boolean;
  /** Announcements kept at most (default 10 000). */
  capacity?: number;
  /** Forget an announcement nobody asked for after this long (default 1 h). */
  ttlMs?: number;
}

/** What a finished transfer produced. */
export interface Fetched {
  ann: Announcement;
  dest: Destination;
}

interface Known {
  candidates: Announcement[];
  at: number;
}

export class RelayRegistry {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
  ) {}

  /** Remember an announcement; true if it is the first of its file. */
  add(ann: Announcement): boolean {
    this.expire(Date.now());
    const entry = this.known.get(ann.key);
    if (entry === undefined) {
      this.known.set(ann.key, { candidates: [ann], at: Date.now() });
      return true;
    }
    if (!entry.candidates.some((c) => c.address === ann.address)) entry.candidates.push(ann);
    return false;
  }

  /** The servers that announced `key`, first first; undefined if unknown. */
  candidates(key: string): Announcement[] | undefined {
    const entry = this.known.get(key);
    return entry === undefined ? undefined : [...entry.candidates];
  }

  get size(): number {
    return this.known.size;
  }

  /** Oldest entries go first: past the TTL, or beyond the capacity. */
  private expire(now: number): void {
    for (const [key, entry] of this.known) {
      if (now - entry.at < this.ttlMs && this.known.size < this.capacity) return;
      this.known.delete(key);
    }
  }
}
