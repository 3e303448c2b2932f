import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests run real model threads; on 2 cores, parallel files only add noise.
    fileParallelism: false,
    testTimeout: 60_000,
    // The JSON report lets CI print a one-line summary ("N passed, N failed").
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
    hookTimeout: 120_000,
  },
});
