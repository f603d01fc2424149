#!/usr/bin/env node
// Thin shim: the command lives in dist/src/cli/nameserver.js (run `npm run build` first).
import "../dist/src/cli/nameserver.js";
