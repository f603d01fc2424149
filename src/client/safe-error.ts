/**
 * A copy of an error whose message and stack carry no `user:password@`.
 * Log records need no such copy (the logger's serializer strips them, see
 * log.ts); the coordinator still uses it for the failure text it keeps.
 */
import { redactText } from "../util/url.js";

/** A loggable copy of `err` without credentials; keeps `name` and `code`. */
export function safeError(err: unknown): Error {
  if (!(err instanceof Error)) return new Error(redactText(String(err)));
  const copy = new Error(redactText(err.message));
  copy.name = err.name;
  copy.stack = err.stack === undefined ? undefined : redactText(err.stack);
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) Object.assign(copy, { code });
  return copy;
}
