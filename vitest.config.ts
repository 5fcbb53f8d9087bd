import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // end-to-end suites start real processes; two cores here
    fileParallelism: true,
    maxWorkers: 2,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
