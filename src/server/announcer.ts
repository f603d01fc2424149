/**
 * Builds the `file` announcement exactly as the reference does (capture A2):
 * the `info` pairs, then the fields parsed from the original path (a field
 * named like an info key overwrites it in place), then `uri`, `uid`,
 * `request_address`.
 */
import { basename } from "node:path";
import type { InfoValue } from "../config/index.js";
import { Message, type JsonValue } from "../message/index.js";
import { parse } from "../pattern/index.js";

export interface AnnounceInput {
  topic: string;
  origin: string;
  info: ReadonlyArray<readonly [string, InfoValue]>;
  /** The path the pattern is parsed from (the packed original when unpacking). */
  originalPath: string;
  /** The file to serve. */
  servedPath: string;
  requestAddress: string | undefined;
  /** Extra keys appended last (e.g. checksum). */
  extra?: ReadonlyArray<readonly [string, JsonValue]>;
}

export function announcement(input: AnnounceInput): Message {
  const data: Record<string, JsonValue> = {};
  for (const [k, v] of input.info) data[k] = Array.isArray(v) ? [...v] : v;
  const fields = parse(input.origin, input.originalPath);
  for (const [k, v] of Object.entries(fields)) data[k] = v;
  data["uri"] = input.servedPath;
  data["uid"] = basename(input.servedPath);
  if (input.requestAddress !== undefined)
    data["request_address"] = input.requestAddress;
  for (const [k, v] of input.extra ?? []) data[k] = v;
  return new Message(input.topic, "file", data);
}
