/**
 * One config for the three tiers (test/README.md). They run side by side:
 * every e2e file starts dockerd on a data root of its own, in a network
 * namespace of its own, and reaches its stacks' ports through relays on free
 * host ports; every integration file starts Consul on free loopback ports;
 * nothing writes into the repo. JEST_WORKERS overrides the number of files
 * run at once (1: one at a time, as before).
 */
module.exports = {
  // Integration suites start real Consul servers, e2e suites real engines: a timeout for that, not for unit tests' sake.
  testTimeout: 120_000,
  // Most of an e2e file's time is spent waiting on servers and OpenTofu, so more files than cores pay off.
  maxWorkers: Number(process.env.JEST_WORKERS ?? 4),
  preset: 'ts-jest',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
  setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  // The longest files first (test/support/sequencer.js): the run's wall time is then about its longest file's.
  testSequencer: '<rootDir>/test/support/sequencer.js',
  testPathIgnorePatterns: ['/node_modules/', '/cdktf.out/'],
};
