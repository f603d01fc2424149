/**
 * What the server has announced: bounded, so a server running for months
 * does not grow. The `byPath` map answers "did we announce this?" for push
 * checks; `recent` is the newest-first list the `info` request reports
 * (duplicates kept, as the reference does).
 */

export interface Announced {
  /** Absolute path of the file served (the unpacked one when unpacking). */
  path: string;
  uid: string;
  topic: string;
  /** Directory the path must stay inside after resolving links. */
  root: string;
  at: number;
}

export const DEFAULT_REGISTRY_LIMIT = 10_000;
export const DEFAULT_INFO_LIMIT = 1000;

export class AnnouncedRegistry {
  private readonly byPath = new Map<string, Announced>();
  private readonly recent: string[] = [];

  constructor(
    private readonly limit = DEFAULT_REGISTRY_LIMIT,
    private readonly infoLimit = DEFAULT_INFO_LIMIT,
  ) {}

  add(entry: Announced): void {
    this.byPath.delete(entry.path);
    this.byPath.set(entry.path, entry);
    if (this.byPath.size > this.limit) {
      const oldest = this.byPath.keys().next().value;
      if (oldest !== undefined) this.byPath.delete(oldest);
    }
    this.remember(entry.topic, entry.uid);
  }

  /** Record an announcement in the `info` history only (relayed ones: nothing local to serve). */
  remember(topic: string, uid: string): void {
    this.recent.push(`${topic}/${uid}`);
    if (this.recent.length > this.infoLimit * 2) this.recent.splice(0, this.recent.length - this.infoLimit);
  }

  get(path: string): Announced | undefined {
    return this.byPath.get(path);
  }

  delete(path: string): void {
    this.byPath.delete(path);
  }

  get size(): number {
    return this.byPath.size;
  }

  /** Newest first, those starting with `prefix`, at most `max`. */
  list(prefix: string, max: number): string[] {
    const out: string[] = [];
    for (let i = this.recent.length - 1; i >= 0 && out.length < max; i--) {
      const item = this.recent[i]!;
      if (item.startsWith(prefix)) out.push(item);
    }
    return out;
  }
}
