/**
 * Unpacking received files (`compression` = xrit, tar or bzip). Only files
 * whose names say they are packed that way are unpacked; the republished
 * message then names what came out: the single output's `uri`/`uid`, or a
 * `dataset` of items when there are several.
 */
import { basename } from "node:path";
import type { JsonValue } from "../message/index.js";
import {
  isCompressedXrit,
  isTarName,
  unpack,
  type UnpackKind,
} from "../unpack/index.js";
import { entriesOf, fromEntries, isObject, type Entries } from "./messages.js";

export interface UnpackSettings {
  kind: UnpackKind;
  /** xRITDecompress path. */
  prog?: string | undefined;
  /** Delete the packed file once unpacked. */
  deleteSource: boolean;
  signal: AbortSignal;
}

/** True when the file name says it is packed as `kind`. */
export function isPacked(kind: UnpackKind, file: string): boolean {
  switch (kind) {
    case "xrit":
      return isCompressedXrit(file);
    case "tar":
      return isTarName(file);
    case "bzip":
      return file.endsWith(".bz2") && !isTarName(file);
  }
}

/** A received message's type and data, after unpacking its local files. */
export interface Unpacked {
  type: string;
  data: JsonValue;
}

/** Unpack every packed local file named in the data (top level, dataset or collection items). */
export async function unpackReceived(
  type: string,
  data: JsonValue,
  opts: UnpackSettings,
): Promise<Unpacked> {
  const entries = entriesOf(data);
  const uri = entries.find(([k]) => k === "uri")?.[1];
  if (typeof uri === "string") {
    const files = await unpackFile(uri, opts);
    if (files === undefined) return { type, data };
    if (files.length === 1)
      return { type, data: fromEntries(asOutput(entries, files[0]!)) };
    const rest = entries.filter(
      ([k]) => k !== "uri" && k !== "uid" && k !== "checksum",
    );
    const items = files.map((file) =>
      fromEntries([
        ["uri", file],
        ["uid", basename(file)],
      ]),
    );
    return {
      type: "dataset",
      data: fromEntries([...rest, ["dataset", items]]),
    };
  }
  const out: Entries = [];
  for (const [key, value] of entries) {
    out.push([
      key,
      key === "dataset" || key === "collection"
        ? await unpackList(value, opts)
        : value,
    ]);
  }
  return { type, data: fromEntries(out) };
}

/** A list of items, each a file (`uri`) or a nested dataset: packed files expand in place. */
async function unpackList(
  value: JsonValue,
  opts: UnpackSettings,
): Promise<JsonValue> {
  if (!Array.isArray(value)) return value;
  const out: JsonValue[] = [];
  for (const item of value) {
    if (!isObject(item)) {
      out.push(item);
      continue;
    }
    const entries = entriesOf(item);
    if (entries.some(([k, v]) => k === "uri" && typeof v === "string")) {
      out.push(...(await unpackItem(entries, opts)).map(fromEntries));
    } else {
      out.push((await unpackReceived("dataset", item, opts)).data);
    }
  }
  return out;
}

/** One file item: itself when not packed, else one item per output (other keys kept). */
async function unpackItem(
  entries: Entries,
  opts: UnpackSettings,
): Promise<Entries[]> {
  const uri = entries.find(([k]) => k === "uri")?.[1];
  const files =
    typeof uri === "string" ? await unpackFile(uri, opts) : undefined;
  return files === undefined
    ? [entries]
    : files.map((file) => asOutput(entries, file));
}

/** Unpack one file if its name says it is packed; undefined when it is not. */
async function unpackFile(
  file: string,
  opts: UnpackSettings,
): Promise<string[] | undefined> {
  if (!isPacked(opts.kind, file)) return undefined;
  return unpack(opts.kind, file, {
    prog: opts.prog,
    signal: opts.signal,
    deleteSource: opts.deleteSource,
  });
}

/** An item's entries naming an unpacked output; the packed file's checksum no longer applies. */
function asOutput(entries: Entries, file: string): Entries {
  const item: Entries = entries
    .filter(([k]) => k !== "checksum")
    .map(([k, v]): [string, JsonValue] => [k, v]);
  setEntry(item, "uri", file);
  setEntry(item, "uid", basename(file));
  return item;
}

function setEntry(entries: Entries, key: string, value: JsonValue): void {
  const at = entries.findIndex(([k]) => k === key);
  if (at >= 0) entries[at] = [key, value];
  else entries.push([key, value]);
}
