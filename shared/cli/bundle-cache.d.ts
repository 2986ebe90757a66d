// Types of bundle-cache.js (plain JavaScript: the launcher loads it before any TypeScript can run).
export function bundleKey(root: string): string;
export function cachedBundleEntry(root: string, cacheDir?: string): Promise<string | null>;
