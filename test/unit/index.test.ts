import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { REPO } from "../helpers/procs.js";

test("index - the package entry exports the server, the client and the mirror", async () => {
  // Resolved the way a user of the package resolves it: package.json's exports.
  const entry = createRequire(`${REPO}/package.json`).resolve("move_it");
  const api = (await import(entry)) as Record<string, unknown>;
  for (const name of [
    "MoveItServer",
    "MoveItClient",
    "MoveItMirror",
    "loadConfig",
    "Message",
    "createLogger",
    "MoveItError",
    "ConfigError",
  ]) {
    assert.equal(typeof api[name], "function", name);
  }
});
