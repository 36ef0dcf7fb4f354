#!/usr/bin/env node
'use strict';
// `kms-rotate` as installed by npm (package.json "bin"): run the TypeScript entry through tsx's
// CommonJS loader, so no build step is needed.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 12)) {
  // Inside the repository `npx kms-rotate` uses the Node 24 that `npm ci` installs; a global
  // install uses whatever `node` is on PATH.
  process.stderr.write(`kms-rotate needs Node.js 22.12 or newer (Lambda runs Node 24); this is ${process.version}.\n`);
  process.exit(2);
}
require('tsx/cjs');
require('./kms-rotate.ts');
