#!/usr/bin/env node
// Thin shim: the command lives in dist/src/cli/move-it-status.js (run `npm run build` first).
import "../dist/src/cli/move-it-status.js";
