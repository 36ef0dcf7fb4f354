#!/usr/bin/env node
'use strict';
// `kms-rotate` as installed by npm (package.json "bin"): run the TypeScript entry through tsx's
// CommonJS loader, so no build step is needed.
require('tsx/cjs');
require('./kms-rotate.ts');
