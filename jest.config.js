/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // isolatedModules: type-checking is its own step (`tsc --noEmit` in `npm test`).
    '^.+\\.[tj]s$': [
      'ts-jest',
      {
        tsconfig: {
          isolatedModules: true,
          allowJs: true,
          module: 'commonjs',
          moduleResolution: 'node10',
          esModuleInterop: true,
          verbatimModuleSyntax: false,
        },
      },
    ],
  },
  // @middy/core is ESM-only: let ts-jest transform it to CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  setupFiles: ['<rootDir>/test/setup-env.js'],
  setupFilesAfterEnv: ['aws-sdk-client-mock-jest'],
  testTimeout: 30000,
  // One worker per core (jest's default leaves one core idle: on CI's 2 cores that halves the run).
  maxWorkers: '100%',
};
