import { defineConfig } from 'vitest/config';

// `npm run test:soak`: long load tests, kept out of `npm test` (whose pattern is *.test.ts).
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
    // One at a time: each one wants the whole machine.
    maxWorkers: 1,
    fileParallelism: false,
  },
});
