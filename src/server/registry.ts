/**
 * The `info` history: `topic/uid` of recent announcements, newest last,
 * bounded (duplicates kept, as the reference does). What the server
 * announced, for good, is in the ledger; this is only the short list `info`
 * reports.
 */

export const DEFAULT_INFO_LIMIT = 1000;

export class AnnouncedRegistry {
  private readonly recent: string[] = [];

  constructor(private readonly infoLimit = DEFAULT_INFO_LIMIT) {}

  /** Record an announcement in the `info` history. */
  remember(topic: string, uid: string): void {
    this.recent.push(`${topic}/${uid}`);
    if (this.recent.length > this.infoLimit * 2)
      this.recent.splice(0, this.recent.length - this.infoLimit);
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
