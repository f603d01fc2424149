/**
 * Client options describing what should arrive, and where to send alerts
 * (docs/observability.md):
 *
 *   expect_every = 15m            slots by the clock (a duration), or `pass`:
 *                                 a slot opens with the first file of a new key
 *   expect_key = nominal_time     the field saying which slot a file is in
 *                                 (default nominal_time then start_time; pass: orbit_number)
 *   expect_files = channel=IR_108,VIS006 segment=1..8,PRO,EPI
 *                                 every combination is expected in each slot
 *   expect_late = 20m             the slot closes this long after its time
 *                                 (pass: after its first file); default one slot
 *   alert_url = https://hooks.example/T0/B0/X   JSON POST (Slack-compatible)
 *   alert_provider_down = 5m      alert when a provider stays unheard this long
 */
import { fail, readList, type SectionReader, type Where } from "./fields.js";

/** What a chain expects to receive. */
export interface ExpectedFiles {
  /** Slot length in seconds, or `pass`: slots opened by the first file of a key value. */
  readonly every: number | "pass";
  /** Fields tried in order for a file's slot (a time for clock slots, any value for passes). */
  readonly key: readonly string[];
  /** Field → accepted values (normalised, see `normaliseValue`); every combination is expected. */
  readonly files: ReadonlyArray<readonly [string, readonly string[]]>;
  /** Seconds after the slot's time (pass: its first file) when it closes. */
  readonly late: number;
}

/** Where alerts go. */
export interface AlertSettings {
  readonly url: string;
  /** Seconds a provider may stay unheard before an alert. */
  readonly providerDown: number;
}

/** The option names read here (not metadata rewrites). */
export const EXPECTED_OPTIONS = [
  "expect_every",
  "expect_key",
  "expect_files",
  "expect_late",
  "alert_url",
  "alert_provider_down",
] as const;

const MAX_COMBINATIONS = 100_000;
const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `900`, `90s`, `15m`, `1h30m`, `2d`: seconds > 0. */
export function readDuration(value: string, where: Where): number {
  const text = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text) && Number(text) > 0) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text)
    fail(where, value, "not a duration (e.g. 900, 90s, 15m, 1h30m)");
  const seconds = parts.reduce(
    (sum, p) => sum + Number(p[1]) * UNIT[p[2]!]!,
    0,
  );
  if (seconds <= 0) fail(where, value, "must be more than 0");
  return seconds;
}

/** How a field value is compared: trimmed of blanks and `_` padding; integers without leading zeros. */
export function normaliseValue(value: unknown): string {
  const s = String(value)
    .trim()
    .replace(/^_+|_+$/g, "");
  return /^\d+$/.test(s) ? String(Number(s)) : s;
}

function readValues(text: string, where: Where, whole: string): string[] {
  const out: string[] = [];
  for (const item of text.split(",").filter((x) => x !== "")) {
    const range = /^(\d+)\.\.(\d+)$/.exec(item);
    if (range === null) {
      out.push(normaliseValue(item));
      continue;
    }
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (to < from || to - from >= MAX_COMBINATIONS)
      fail(where, whole, `bad range ${item}`);
    for (let i = from; i <= to; i++) out.push(String(i));
  }
  if (out.length === 0) fail(where, whole, `no values in ${text}`);
  return out;
}

/** `field=v1,v2 field2=1..8`. */
export function readExpectedFiles(
  value: string,
  where: Where,
): Array<[string, string[]]> {
  const out: Array<[string, string[]]> = [];
  let combos = 1;
  for (const term of readList(value)) {
    const eq = term.indexOf("=");
    if (eq <= 0) fail(where, value, `"${term}" is not field=values`);
    const values = readValues(term.slice(eq + 1), where, value);
    combos *= values.length;
    out.push([term.slice(0, eq), values]);
  }
  if (out.length === 0) fail(where, value, "names no field");
  if (combos > MAX_COMBINATIONS)
    fail(
      where,
      value,
      `expects ${combos} files per slot (at most ${MAX_COMBINATIONS})`,
    );
  return out;
}

/** The section's expectation, or undefined without `expect_files`. */
export function readExpected(
  section: SectionReader,
): ExpectedFiles | undefined {
  const filesText = section.text("expect_files");
  if (filesText === undefined) {
    for (const o of ["expect_every", "expect_key", "expect_late"]) {
      const v = section.text(o);
      if (v !== undefined)
        fail(section.where(o), v, "needs expect_files (what to expect)");
    }
    return undefined;
  }
  const everyText = section.text("expect_every");
  if (everyText === undefined)
    fail(
      section.where("expect_every"),
      "",
      "needed with expect_files (a duration, or pass)",
    );
  const every =
    everyText.trim().toLowerCase() === "pass"
      ? "pass"
      : readDuration(everyText, section.where("expect_every"));
  const keyText = section.text("expect_key");
  const key =
    keyText !== undefined
      ? readList(keyText, true)
      : every === "pass"
        ? ["orbit_number"]
        : ["nominal_time", "start_time"];
  const late = section.read(
    "expect_late",
    readDuration,
    every === "pass" ? 1800 : every,
  );
  return {
    every,
    key,
    files: readExpectedFiles(filesText, section.where("expect_files")),
    late,
  };
}

/** The section's alert settings, or undefined without `alert_url`. */
export function readAlerts(section: SectionReader): AlertSettings | undefined {
  const url = section.text("alert_url");
  const providerDown = section.read("alert_provider_down", readDuration, 300);
  if (url === undefined) return undefined;
  const where = section.where("alert_url");
  const checked = url.trim();
  if (!/^https?:\/\//i.test(checked))
    fail(where, url, "must be an http:// or https:// URL");
  if (/\s/.test(checked) || !URL.canParse(checked))
    fail(where, url, "not a valid URL");
  return { url: checked, providerDown };
}
