#!/usr/bin/env -S node --max-semi-space-size=64 --heap-growing-percent=100
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run on install by `prepare`).
// The V8 flags above can only be given when node starts (docs/collector.md, "Performance notes"):
// semi-spaces of 64 MB instead of 16 let each request's short-lived objects die young, and an old
// generation let grow to twice its live size stops back-to-back mark-compacts on the event loop.
// `node bin/adpipe.js` skips the shebang: pass them there. The benchmark reads them from here.
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  console.error(err);
  process.exit(1);
});
