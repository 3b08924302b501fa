/** Integration suites start real Consul servers: a timeout for that, not for unit tests' sake. */
module.exports = {
  testTimeout: 120_000,
  preset: 'ts-jest',
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.dev.json' }] },
  setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testPathIgnorePatterns: ['/node_modules/', '/cdktf.out/'],
};
