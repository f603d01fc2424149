/**
 * CURVE key files as pyzmq's `zmq.auth.create_certificates` (and so
 * `posttroll-generate-keys`) writes them: `NAME.key` holds
 * `public-key = "<Z85>"`, `NAME.key_secret` holds that and
 * `secret-key = "<Z85>"`, in a `curve` section. Pure: the caller reads the
 * file.
 */
import { ConfigError } from "../errors.js";
import { z85Decode } from "../util/z85.js";

export interface CurveCertificate {
  publicKey: string;
  secretKey: string | undefined;
}

function keyOf(text: string, name: string, file: string): string | undefined {
  const m = new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"\\s*$`, "m").exec(text);
  if (m === null) return undefined;
  const key = m[1]!;
  if (key.length !== 40 || z85Decode(key)?.length !== 32) {
    throw new ConfigError("not a 40-character Z85 CURVE key", {
      file,
      section: "curve",
      option: name,
      value: key.slice(0, 4) + "…",
    });
  }
  return key;
}

/** Parse a certificate; `needSecret` for a `.key_secret` file. */
export function parseCertificate(
  text: string,
  file: string,
  needSecret: boolean,
): CurveCertificate {
  const publicKey = keyOf(text, "public-key", file);
  if (publicKey === undefined)
    throw new ConfigError(
      "no public-key line: not a CURVE certificate (posttroll-generate-keys writes one)",
      { file, section: "curve", option: "public-key" },
    );
  const secretKey = keyOf(text, "secret-key", file);
  if (needSecret && secretKey === undefined)
    throw new ConfigError(
      "no secret-key line: give the .key_secret file, not the .key file",
      { file, section: "curve", option: "secret-key" },
    );
  return { publicKey, secretKey };
}
