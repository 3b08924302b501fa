/** Integration suites start real Consul servers: a timeout for that, not for unit tests' sake. */
module.exports = {
  testTimeout: 120_000,
  // The e2e files share one project dockerd (a data-root lock) and host ports 8500/8501: one file at a time.
  maxWorkers: 1,
  preset: 'ts-jest',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
  setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testPathIgnorePatterns: ['/node_modules/', '/cdktf.out/'],
};
