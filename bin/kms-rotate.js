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
if (!require('node:fs').existsSync(require('node:path').join(__dirname, 'kms-rotate.ts'))) {
  // The npm package is the construct library (dist/): it ships neither the CLI's sources nor its
  // dependencies, so the CLI runs from a checkout of the repository.
  process.stderr.write(
    'kms-rotate runs from a checkout of the kms-incident-rotation repository (npm ci, then npx kms-rotate, or npm i -g <checkout>); the npm package holds the CDK construct only.\n',
  );
  process.exit(2);
}
require('tsx/cjs');
require('./kms-rotate.ts');
