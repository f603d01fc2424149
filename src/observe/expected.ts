/**
 * Expected files of one chain, evaluated against what was delivered. Clock
 * slots (`expect_every = 15m`) exist whether anything arrives or not: slot
 * T holds the files whose key time falls in [T, T + every), and closes at
 * T + late. Pass slots (`expect_every = pass`) open with the first file of
 * a new key value (an orbit number) and close `late` after it. At close,
 * every expected combination not delivered is missing; a file arriving for
 * a closed slot is late. Only slots starting after tracking began are
 * judged (earlier deliveries are not known here). Pure: time comes in.
 */
import type { ExpectedFiles } from "../config/index.js";
import { normaliseValue } from "../config/expected.js";
import type { JsonValue } from "../message/index.js";
import { fileTime } from "./file-time.js";

/** A slot that closed with files missing. */
export interface IncompleteSlot {
  /** The slot: its time (ISO) or pass key. */
  slot: string;
  closedAt: number;
  expected: number;
  /** Missing files as `field=value` lists; shrinks when a late file arrives. */
  missing: string[];
}

/** What `add` and `tick` report. */
export type ExpectedOutcome =
  { kind: "on_time" } | { kind: "late"; slot: string } | { kind: "ignored" };

interface Slot {
  label: string;
  closesAt: number;
  got: Set<string>;
}

const KEPT_INCOMPLETE = 20;
const KEPT_CLOSED_PASSES = 1000;

/** See the module comment. */
export class ExpectedTracker {
  private readonly open = new Map<string, Slot>();
  private readonly closedPasses: string[] = [];
  /** Clock slots: the next slot start not yet closed. */
  private nextClock: number;
  private readonly firstClock: number;
  readonly incomplete: IncompleteSlot[] = [];
  private readonly combos: number;

  constructor(
    readonly spec: ExpectedFiles,
    since: number,
  ) {
    this.combos = spec.files.reduce((n, [, v]) => n * v.length, 1);
    // The first whole slot after tracking began.
    this.nextClock =
      spec.every === "pass"
        ? 0
        : Math.ceil(since / (spec.every * 1000)) * spec.every * 1000;
    this.firstClock = this.nextClock;
  }

  /** Files each slot should hold. */
  get perSlot(): number {
    return this.combos;
  }

  /** Slots open now, with how many of their files arrived. */
  openSlots(): Array<{
    slot: string;
    closesAt: number;
    received: number;
    expected: number;
  }> {
    return [...this.open.values()].map((s) => ({
      slot: s.label,
      closesAt: s.closesAt,
      received: s.got.size,
      expected: this.combos,
    }));
  }

  /** A delivered file: on time, late (its slot closed already), or not one of the expected. */
  add(data: Readonly<Record<string, JsonValue>>, now: number): ExpectedOutcome {
    const combo = this.combo(data);
    if (combo === undefined) return { kind: "ignored" };
    return this.spec.every === "pass"
      ? this.addPass(data, combo, now)
      : this.addClock(data, combo, now, this.spec.every * 1000);
  }

  /** Close the slots due by `now`; returns those that closed incomplete. */
  tick(now: number): IncompleteSlot[] {
    const out: IncompleteSlot[] = [];
    if (this.spec.every !== "pass") {
      const len = this.spec.every * 1000;
      while (this.nextClock + this.spec.late * 1000 <= now) {
        const key = String(this.nextClock);
        const slot = this.open.get(key) ?? {
          label: iso(this.nextClock),
          closesAt: this.nextClock + this.spec.late * 1000,
          got: new Set<string>(),
        };
        this.open.delete(key);
        const closed = this.close(slot, now);
        if (closed !== undefined) out.push(closed);
        this.nextClock += len;
      }
    } else {
      for (const [key, slot] of this.open) {
        if (slot.closesAt > now) continue;
        this.open.delete(key);
        this.closedPasses.push(key);
        if (this.closedPasses.length > KEPT_CLOSED_PASSES)
          this.closedPasses.shift();
        const closed = this.close(slot, now);
        if (closed !== undefined) out.push(closed);
      }
    }
    return out;
  }

  private addClock(
    data: Readonly<Record<string, JsonValue>>,
    combo: string,
    now: number,
    len: number,
  ): ExpectedOutcome {
    const t = fileTime(data, this.spec.key);
    if (t === undefined) return { kind: "ignored" };
    const start = Math.floor(t / len) * len;
    const label = iso(start);
    if (start < this.nextClock)
      return this.lateArrival(label, combo, start >= this.firstClock);
    const key = String(start);
    let slot = this.open.get(key);
    if (slot === undefined)
      this.open.set(
        key,
        (slot = {
          label,
          closesAt: start + this.spec.late * 1000,
          got: new Set(),
        }),
      );
    slot.got.add(combo);
    return now > slot.closesAt
      ? { kind: "late", slot: label }
      : { kind: "on_time" };
  }

  private addPass(
    data: Readonly<Record<string, JsonValue>>,
    combo: string,
    now: number,
  ): ExpectedOutcome {
    const value = this.spec.key
      .map((k) => data[k])
      .find((v) => v !== undefined && v !== null);
    if (value === undefined) return { kind: "ignored" };
    const key = normaliseValue(
      value instanceof Object && "isoformat" in value
        ? (value as { isoformat(): string }).isoformat()
        : value,
    );
    if (this.closedPasses.includes(key))
      return this.lateArrival(key, combo, true);
    let slot = this.open.get(key);
    if (slot === undefined)
      this.open.set(
        key,
        (slot = {
          label: key,
          closesAt: now + this.spec.late * 1000,
          got: new Set(),
        }),
      );
    slot.got.add(combo);
    return { kind: "on_time" };
  }

  /** A file of a closed slot: late; struck off the slot's missing list if listed. */
  private lateArrival(
    label: string,
    combo: string,
    judged: boolean,
  ): ExpectedOutcome {
    const listed = this.incomplete.find((s) => s.slot === label);
    if (listed !== undefined)
      listed.missing = listed.missing.filter((m) => m !== this.describe(combo));
    return judged ? { kind: "late", slot: label } : { kind: "ignored" };
  }

  private close(slot: Slot, now: number): IncompleteSlot | undefined {
    if (slot.got.size >= this.combos) return undefined;
    const missing = this.all()
      .filter((c) => !slot.got.has(c))
      .map((c) => this.describe(c));
    const closed = {
      slot: slot.label,
      closedAt: now,
      expected: this.combos,
      missing,
    };
    this.incomplete.unshift(closed);
    if (this.incomplete.length > KEPT_INCOMPLETE)
      this.incomplete.length = KEPT_INCOMPLETE;
    return closed;
  }

  /** The file's expected combination, or undefined when it is not one. */
  private combo(data: Readonly<Record<string, JsonValue>>): string | undefined {
    const parts: string[] = [];
    for (const [field, values] of this.spec.files) {
      const v = data[field];
      if (v === undefined || v === null || typeof v === "object")
        return undefined;
      const n = normaliseValue(v);
      if (!values.includes(n)) return undefined;
      parts.push(n);
    }
    return parts.join("\u0000");
  }

  private all(): string[] {
    let out: string[][] = [[]];
    for (const [, values] of this.spec.files)
      out = out.flatMap((prefix) => values.map((v) => [...prefix, v]));
    return out.map((parts) => parts.join("\u0000"));
  }

  private describe(combo: string): string {
    const values = combo.split("\u0000");
    return this.spec.files
      .map(([field], i) => `${field}=${values[i]}`)
      .join(" ");
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
