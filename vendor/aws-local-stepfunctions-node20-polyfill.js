'use strict';
// Prepended by scripts/vendor-aws-local-stepfunctions.sh to aws-local-stepfunctions 3.0.0's Node
// entry files (build/main.node.cjs, build/main.node.esm.js), so that the package runs on the
// Node.js 20.19 that installs this repository. The only API it uses that Node 20 lacks is
// Promise.withResolvers (ES2024, Node 22): every Task state's timeout calls it. AbortSignal.any,
// the other recent API it calls, exists since Node 20.3. The polyfill installs only where the
// API is missing; ASL_VENDORED_FORCE_POLYFILL=1 installs it anyway, so that a test on a newer Node
// still runs the polyfill's code. What it installed is listed under the global symbol below.
(function installNode20Polyfills() {
  const marker = Symbol.for('aws-local-stepfunctions.vendored.node20-polyfills');
  const forced = typeof process === 'object' && process.env.ASL_VENDORED_FORCE_POLYFILL === '1';
  const installed = [];
  if (forced || typeof Promise.withResolvers !== 'function') {
    // ECMAScript 2024, 27.2.4.8 Promise.withResolvers: NewPromiseCapability(this).
    Object.defineProperty(Promise, 'withResolvers', {
      value: function withResolvers() {
        let resolve;
        let reject;
        const promise = new this((res, rej) => {
          resolve = res;
          reject = rej;
        });
        return { promise, resolve, reject };
      },
      writable: true,
      enumerable: false,
      configurable: true,
    });
    installed.push('Promise.withResolvers');
  }
  if (installed.length > 0) globalThis[marker] = installed;
})();
