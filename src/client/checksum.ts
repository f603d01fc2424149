/**
 * Our integrity check (docs/guarantees.md): an announcement may carry
 * `"checksum": "<algorithm>:<hex>"` (top level, or per dataset item). A
 * file delivered to this host is hashed and compared; on a mismatch it is
 * deleted, so the next provider can deliver a good copy.
 */
import { createHash, getHashes } from "node:crypto";
import { createReadStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { TransferError } from "../errors.js";
import type { JsonValue } from "../message/index.js";
import { entriesOf } from "./messages.js";

/** One file to check: its announced uri and checksum text. */
export interface Expected {
  uri: string;
  checksum: string;
}

/** Every object in the data holding both a `uri` and a `checksum` string. */
export function expectedChecksums(
  value: JsonValue | undefined,
  out: Expected[] = [],
  depth = 0,
): Expected[] {
  if (depth > 32) return out;
  if (Array.isArray(value)) {
    for (const item of value) expectedChecksums(item, out, depth + 1);
    return out;
  }
  const entries = entriesOf(value);
  const uri = entries.find(([k]) => k === "uri")?.[1];
  const checksum = entries.find(([k]) => k === "checksum")?.[1];
  if (typeof uri === "string" && typeof checksum === "string")
    out.push({ uri, checksum });
  for (const [, item] of entries) expectedChecksums(item, out, depth + 1);
  return out;
}

/** The hex digest of a file. */
export async function fileDigest(
  path: string,
  algorithm: string,
  signal: AbortSignal,
): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path, { signal }))
    hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * Hash `path` and compare with `checksum`; on a mismatch delete the file and
 * throw TransferError. Returns false (nothing checked) for an algorithm this
 * node does not know.
 */
export async function verifyFile(
  path: string,
  checksum: string,
  signal: AbortSignal,
): Promise<boolean> {
  const colon = checksum.indexOf(":");
  const algorithm = checksum.slice(0, colon).toLowerCase();
  const expected = checksum.slice(colon + 1).toLowerCase();
  if (colon <= 0 || !getHashes().includes(algorithm)) return false;
  const actual = await fileDigest(path, algorithm, signal);
  if (actual === expected) return true;
  await unlink(path).catch(() => undefined);
  throw new TransferError(
    `checksum mismatch for ${path}: expected ${algorithm}:${expected}, got ${actual}`,
    {
      scheme: "file",
      destination: path,
    },
  );
}
