#!/usr/bin/env node
// Thin shim: the command lives in dist/src/cli/req.js (run `npm run build` first).
import "../dist/src/cli/req.js";
