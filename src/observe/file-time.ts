/**
 * A file's own time, from the fields its announcement carries (parsed from
 * its name by the server's pattern): the first of `nominal_time`,
 * `start_time`, `time` that is a datetime.
 */
import type { JsonValue } from "../message/index.js";
import { DateTime } from "../util/datetime.js";

/** Fields tried, in order, for a file's own time. */
export const TIME_FIELDS = ["nominal_time", "start_time", "time"] as const;

/** The file's own time in ms since the epoch (naive times taken as UTC), or undefined. */
export function fileTime(
  data: Readonly<Record<string, JsonValue>>,
  fields: readonly string[] = TIME_FIELDS,
): number | undefined {
  for (const f of fields) {
    const v = data[f];
    if (v instanceof DateTime) return v.valueOf();
    if (typeof v === "string") {
      const d = DateTime.parseIso(v);
      if (d !== undefined) return d.valueOf();
    }
  }
  return undefined;
}
