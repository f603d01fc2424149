import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCertificate } from "../../../src/config/curve-keys.js";

// The layout pyzmq's create_certificates writes (keys here are made up, valid Z85).
const PUB = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const SEC = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
const secret = `#   ****  Generated on 2026-12-01 by pyzmq  ****\n#   ZeroMQ CURVE **Secret** Certificate\n#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n\nmetadata\ncurve\n    public-key = "${PUB}"\n    secret-key = "${SEC}"\n`;

test("curve-keys - a .key_secret file gives both keys, a .key file the public one", () => {
  assert.deepEqual(parseCertificate(secret, "s.key_secret", true), {
    publicKey: PUB,
    secretKey: SEC,
  });
  const pub = secret.replace(/\n\s*secret-key.*\n/, "\n");
  assert.deepEqual(parseCertificate(pub, "s.key", false), {
    publicKey: PUB,
    secretKey: undefined,
  });
});

test("curve-keys - errors name the file and say what is wrong", () => {
  assert.throws(
    () =>
      parseCertificate(
        secret.replace(/\n\s*secret-key.*\n/, "\n"),
        "/k/server.key",
        true,
      ),
    /file \/k\/server\.key.*give the \.key_secret file/,
  );
  assert.throws(
    () => parseCertificate("hello", "/k/x.key", false),
    /file \/k\/x\.key.*no public-key line/,
  );
  assert.throws(
    () => parseCertificate(`public-key = "short"`, "/k/y.key", false),
    /file \/k\/y\.key.*not a 40-character Z85 CURVE key/,
  );
});
