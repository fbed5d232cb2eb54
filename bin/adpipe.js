#!/usr/bin/env -S node --max-semi-space-size=64
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run on install by `prepare`).
// The V8 flag above can only be given when node starts: semi-spaces of 64 MB instead of 16 let the
// short-lived objects of each request die young instead of being copied and promoted (pixels:
// +9–39 % requests/s, see docs/collector.md). `node bin/adpipe.js` skips the shebang: pass it there.
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err);
  process.exit(1);
});
