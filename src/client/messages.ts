/**
 * The messages a client sends and publishes, built from an announcement
 * exactly as the reference client builds them (captures B2–B4, C1, C4, C5):
 * the announcement's keys keep their order, new keys go last.
 */
import {
  Message,
  type JsonValue,
  type MessageOptions,
} from "../message/index.js";

/** Ordered key/value pairs of a JSON object. */
export type Entries = Array<[string, JsonValue]>;

/** Message types a server announces files with. */
export const ANNOUNCEMENT_TYPES: ReadonlySet<string> = new Set([
  "file",
  "dataset",
  "collection",
]);

/** Sender and time for a message we build (tests pin both). */
export type Stamp = () => Pick<MessageOptions, "sender" | "time">;

const INDEX_KEY = /^(0|[1-9]\d*)$/;

/** True for a plain JSON object (or the Map the codec uses for integer-like keys). */
export function isObject(
  value: unknown,
): value is Map<string, JsonValue> | Record<string, JsonValue> {
  if (value instanceof Map) return true;
  return (
    typeof value === "object" && value !== null && value.constructor === Object
  );
}

/** The entries of a JSON object, in order; [] for anything else. */
export function entriesOf(value: unknown): Entries {
  if (value instanceof Map) return [...(value as Map<string, JsonValue>)];
  return isObject(value)
    ? Object.entries(value as Record<string, JsonValue>)
    : [];
}

/** Rebuild an object; a Map when a key is integer-like, since a JS object would reorder it. */
export function fromEntries(entries: Entries): JsonValue {
  if (entries.some(([key]) => INDEX_KEY.test(key))) return new Map(entries);
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of entries) out[key] = value;
  return out;
}

/** A string value of a top-level key, if it is one. */
export function stringField(msg: Message, key: string): string | undefined {
  const value = fieldOf(msg.data, key);
  return typeof value === "string" ? value : undefined;
}

/** The value of a top-level key of a JSON object (read in place: several times a file). */
export function fieldOf(data: unknown, key: string): JsonValue | undefined {
  if (data instanceof Map) return (data as Map<string, JsonValue>).get(key);
  if (!isObject(data) || !Object.hasOwn(data, key)) return undefined;
  return (data as Record<string, JsonValue>)[key];
}

/** Every `uid` string anywhere in the data (dataset items, collections). */
export function uidsOf(
  value: JsonValue | undefined,
  out: string[] = [],
  depth = 0,
): string[] {
  if (depth > 32) return out;
  if (Array.isArray(value)) {
    for (const item of value) uidsOf(item, out, depth + 1);
    return out;
  }
  for (const [key, item] of entriesOf(value)) {
    if (key === "uid" && typeof item === "string") out.push(item);
    else uidsOf(item, out, depth + 1);
  }
  return out;
}

/**
 * What identifies an announced file: its `uid`, or for a dataset or
 * collection (no top-level uid) the sorted list of its items' uids. The
 * same key comes out of the announcement and of a client's push or ack
 * of it. Undefined when there is no uid at all.
 */
export function uidKey(msg: Message): string | undefined {
  const uid = stringField(msg, "uid");
  if (uid !== undefined) return uid;
  const uids = uidsOf(msg.data).sort();
  return uids.length === 0 ? undefined : JSON.stringify(uids);
}

/** The data with `key` set: replaced in place if present, else appended. */
export function withKey(
  data: JsonValue | undefined,
  key: string,
  value: JsonValue,
): JsonValue {
  const entries = entriesOf(data);
  const at = entries.findIndex(([k]) => k === key);
  if (at >= 0) entries[at] = [key, value];
  else entries.push([key, value]);
  return fromEntries(entries);
}

/** The data without the given keys. */
export function withoutKeys(
  data: JsonValue | undefined,
  ...keys: string[]
): JsonValue {
  return fromEntries(entriesOf(data).filter(([k]) => !keys.includes(k)));
}

/**
 * The `push` request (C1/C2) or its public copy (B2): the announcement plus
 * `destination`, and `backup_targets` when there are any.
 */
export function pushMessage(
  ann: Message,
  destination: string,
  stamp: Stamp,
  backupTargets?: readonly string[],
): Message {
  let data = withKey(ann.data, "destination", destination);
  if (backupTargets !== undefined && backupTargets.length > 0)
    data = withKey(data, "backup_targets", [...backupTargets]);
  return new Message(ann.subject, "push", data, stamp());
}

/** The `ack` request (C4/C5) or the public ack (B3): the announcement's data, unchanged. */
export function ackMessage(ann: Message, stamp: Stamp): Message {
  return new Message(
    ann.subject,
    "ack",
    fromEntries(entriesOf(ann.data)),
    stamp(),
  );
}

/** A `ping` to check that a server still answers; with `pushUid`, also whether that push still runs there. */
export function pingMessage(
  subject: string,
  stamp: Stamp,
  pushUid?: string,
): Message {
  return new Message(
    subject,
    "ping",
    pushUid === undefined ? undefined : { push_uid: pushUid },
    stamp(),
  );
}

/**
 * The data republished after reception (B4): the announcement's data with
 * every `uri` mapped through `mapUri`, `request_address` and `destination`
 * removed, `origin` (the server's address) set (appended unless the data
 * had one).
 */
export function receivedData(
  ann: Message,
  origin: string,
  mapUri: (uri: string) => string,
): JsonValue {
  const data = mapUris(
    withoutKeys(ann.data, "request_address", "destination"),
    mapUri,
  );
  return withKey(data, "origin", origin);
}

/** `receivedData` as a message of the announcement's subject and type. */
export function receivedMessage(
  ann: Message,
  origin: string,
  mapUri: (uri: string) => string,
  stamp: Stamp,
): Message {
  return new Message(
    ann.subject,
    ann.type,
    receivedData(ann, origin, mapUri),
    stamp(),
  );
}

/** Replace every `uri` string anywhere in the data. */
export function mapUris(
  value: JsonValue,
  mapUri: (uri: string) => string,
  depth = 0,
): JsonValue {
  if (depth > 32) return value;
  if (Array.isArray(value))
    return value.map((item) => mapUris(item, mapUri, depth + 1));
  if (!isObject(value)) return value;
  return fromEntries(
    entriesOf(value).map(([key, item]): [string, JsonValue] =>
      key === "uri" && typeof item === "string"
        ? [key, mapUri(item)]
        : [key, mapUris(item, mapUri, depth + 1)],
    ),
  );
}

/**
 * Apply `metadata` rewrites to the top-level keys present in the data:
 * `a:b|c:d` maps a value to another (values not listed stay), a raw value
 * without `:` replaces the value.
 */
export function rewriteMetadata(
  data: JsonValue,
  rewrites: ReadonlyArray<readonly [string, string]>,
): JsonValue {
  const entries = entriesOf(data);
  if (entries.length === 0) return data;
  for (const [key, raw] of rewrites) {
    const at = entries.findIndex(([k]) => k === key);
    const entry = entries[at];
    if (entry === undefined) continue;
    entry[1] = rewriteValue(entry[1], raw);
  }
  return fromEntries(entries);
}

function rewriteValue(value: JsonValue, raw: string): JsonValue {
  if (!raw.includes(":")) return raw;
  const current = typeof value === "string" ? value : JSON.stringify(value);
  for (const pair of raw.split("|")) {
    const colon = pair.indexOf(":");
    if (colon >= 0 && pair.slice(0, colon).trim() === current)
      return pair.slice(colon + 1).trim();
  }
  return value;
}
