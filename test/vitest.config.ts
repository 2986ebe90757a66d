import { defineConfig } from 'vitest/config';

// Timing-sensitive integration files share two cores with the processes they start:
// run files one after another so they do not disturb each other.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/bench/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
