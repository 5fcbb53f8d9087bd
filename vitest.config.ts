import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Node (and so every dependency) loads graphql's CommonJS build; Vite would pick index.mjs for
  // our own files and graphql-js refuses to mix the two
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
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
