import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Integration tests start real servers on loopback ports and write real files:
    // keep the parallelism modest for a 2-core machine.
    maxWorkers: 2,
  },
});
