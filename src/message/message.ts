/**
 * The posttroll message: one text frame
 * `pytroll://<subject> <type> <sender> <time> <version>[ <mime> <data>]`.
 */
import { MessageDecodeError, MessageEncodeError } from "../errors.js";
import { DateTime } from "../util/datetime.js";
import { localSender } from "../util/host.js";
import {
  containsDatetime,
  parsePyJson,
  stringifyPyJson,
  type JsonValue,
} from "./json.js";

export const MAGIC = "pytroll:/";
/** Written when the data holds no datetime. Header time is naive UTC. */
export const VERSION_NAIVE = "v1.01";
/** Written when the data holds a datetime. Header time carries +00:00. */
export const VERSION_AWARE = "v1.2";
const MAX_VERSION = 1.2;

export type MessageData = JsonValue | undefined;

export const MIME_JSON = "application/json";
export const MIME_TEXT = "text/ascii";
export const MIME_BINARY = "binary/octet-stream";

/** Python's `str.isspace()` characters: posttroll splits fields with `\s+`. */
const PY_WS =
  "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const FIELD_SPLIT = new RegExp(`^([^${PY_WS}]*)[${PY_WS}]+`);
const HAS_WS = new RegExp(`[${PY_WS}]`);
const VERSION_RE = /^v(\d+)\.(\d+)$/;

export interface MessageOptions {
  sender?: string;
  time?: DateTime;
  /** Force a version; by default v1.2 when data holds datetimes, else v1.01. */
  version?: string;
  binary?: boolean;
}

/** One posttroll message. Build with the constructor, or `Message.decode(frame)`. */
export class Message {
  /** Subject without the `pytroll:/` prefix, e.g. `/1b/hrit/0deg`. */
  subject: string;
  type: string;
  /** `user@host`. */
  sender: string;
  time: DateTime;
  version: string;
  /** JSON data, a string (text/ascii or binary), or undefined for none. */
  data: MessageData;
  binary: boolean;

  constructor(
    subject: string,
    type: string,
    data?: MessageData,
    opts: MessageOptions = {},
  ) {
    this.subject = subject;
    this.type = type;
    this.data = data;
    this.binary = opts.binary ?? false;
    this.sender = opts.sender ?? localSender();
    this.version =
      opts.version ?? (containsDatetime(data) ? VERSION_AWARE : VERSION_NAIVE);
    this.time =
      opts.time ?? DateTime.now({ aware: this.version !== VERSION_NAIVE });
  }

  /** Decode a frame. Throws MessageDecodeError, and nothing else, for anything that is not a message. */
  static decode(raw: Uint8Array | string): Message {
    try {
      return decodeFrame(typeof raw === "string" ? raw : bytesToText(raw));
    } catch (err) {
      if (err instanceof MessageDecodeError) throw err;
      throw new MessageDecodeError(`not a message: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** The user part of the sender. */
  get user(): string {
    const at = this.sender.indexOf("@");
    return at < 0 ? "" : this.sender.slice(0, at);
  }

  /** The host part of the sender. */
  get host(): string {
    const at = this.sender.indexOf("@");
    return at < 0 ? "" : this.sender.slice(at + 1);
  }

  /** The header alone (no mime, no data). */
  get head(): string {
    this.validate();
    return `${MAGIC}${this.subject} ${this.type} ${this.sender} ${this.time.isoformat()} ${this.version}`;
  }

  /** The data as a JSON object, or an empty object if it is not one. */
  get dataObject(): Record<string, JsonValue> {
    const d = this.data;
    if (
      d === null ||
      d === undefined ||
      typeof d !== "object" ||
      Array.isArray(d)
    )
      return {};
    if (d instanceof Map) return Object.fromEntries(d);
    if (d instanceof Date || d.constructor !== Object) return {};
    return d as Record<string, JsonValue>;
  }

  /** Encode to the wire text, exactly as posttroll would. */
  encode(): string {
    const head = this.head;
    const d = this.data;
    if (!isTruthy(d)) return head;
    if (typeof d === "string")
      return `${head} ${this.binary ? MIME_BINARY : MIME_TEXT} ${d}`;
    return `${head} ${MIME_JSON} ${stringifyPyJson(d)}`;
  }

  /** The topic bytes a subscriber's prefix filter sees. */
  static topicPrefix(subject: string): string {
    return `${MAGIC}${subject}`;
  }

  toString(): string {
    return this.encode();
  }

  private validate(): void {
    for (const [name, value] of [
      ["subject", this.subject],
      ["type", this.type],
      ["sender", this.sender],
    ] as const) {
      if (typeof value !== "string" || value === "")
        throw new MessageEncodeError(`invalid ${name}: empty`);
      if (HAS_WS.test(value))
        throw new MessageEncodeError(`invalid ${name}: contains white space`);
    }
    if (!VERSION_RE.test(this.version))
      throw new MessageEncodeError(`invalid version: ${this.version}`);
  }
}

/** Python's truthiness of message data: empty strings, dicts and lists mean "no data". */
function isTruthy(d: MessageData): boolean {
  if (d === undefined || d === null || d === "" || d === false) return false;
  if (Array.isArray(d)) return d.length > 0;
  if (d instanceof Map) return d.size > 0;
  if (typeof d === "object" && d.constructor === Object)
    return Object.keys(d).length > 0;
  if (typeof d === "number") return d !== 0;
  return true;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");

function bytesToText(raw: Uint8Array): string {
  try {
    return utf8.decode(raw);
  } catch {
    return latin1.decode(raw);
  }
}

/** Split off up to `max` leading fields, the last part being the rest (re.split maxsplit). */
function splitFields(text: string, max: number): string[] {
  const out: string[] = [];
  let rest = text;
  while (out.length < max) {
    const m = FIELD_SPLIT.exec(rest);
    if (m === null) break;
    out.push(m[1] ?? "");
    rest = rest.slice(m[0].length);
  }
  out.push(rest);
  return out;
}

function checkVersion(raw: string): string {
  const m = VERSION_RE.exec(raw);
  if (m === null || Number(`${m[1]}.${m[2]}`) > MAX_VERSION) {
    throw new MessageDecodeError(
      `invalid message version: '${raw.slice(0, 16)}'`,
    );
  }
  return raw;
}

function decodeFrame(text: string): Message {
  if (!text.startsWith(MAGIC))
    throw new MessageDecodeError(`not a posttroll message (wrong magic word)`);
  const raw = splitFields(text.slice(MAGIC.length), 6);
  if (raw.length < 5)
    throw new MessageDecodeError(`could not decode message: too few fields`);
  const [
    subject = "",
    type = "",
    sender = "",
    timeText = "",
    versionText = "",
  ] = raw;
  const version = checkVersion(versionText);
  const time = DateTime.parseIso(timeText);
  if (time === undefined)
    throw new MessageDecodeError(
      `invalid message time: '${timeText.slice(0, 32)}'`,
    );
  if (subject === "" || type === "" || sender === "")
    throw new MessageDecodeError("empty subject, type or sender");
  const { data, binary } = decodeData(raw[5], raw[6]);
  const msg = new Message(subject, type, data, {
    sender,
    time: new DateTime(time),
    version,
    binary,
  });
  return msg;
}

function decodeData(
  mimeText: string | undefined,
  dataText: string | undefined,
): { data: MessageData; binary: boolean } {
  if (mimeText === undefined || dataText === undefined)
    return { data: undefined, binary: false };
  const mime = mimeText.toLowerCase();
  switch (mime) {
    case MIME_JSON:
      return { data: parsePyJson(dataText), binary: false };
    case MIME_TEXT:
      return { data: dataText, binary: false };
    case MIME_BINARY:
      return { data: dataText, binary: true };
    default:
      throw new MessageDecodeError(
        `unknown mime type '${mimeText.slice(0, 32)}'`,
      );
  }
}
