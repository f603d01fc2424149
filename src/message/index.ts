export {
  Message,
  MAGIC,
  VERSION_NAIVE,
  VERSION_AWARE,
  MIME_JSON,
  MIME_TEXT,
  MIME_BINARY,
} from "./message.js";
export type { MessageData, MessageOptions } from "./message.js";
export { parsePyJson, stringifyPyJson, containsDatetime } from "./json.js";
export type { JsonValue, JsonObject } from "./json.js";
