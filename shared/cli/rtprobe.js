#!/usr/bin/env node
// The rtprobe command. The sources are TypeScript; no build step stands between a fresh clone
// and a working rig: the checkout runs from a bundle of itself that bundle-cache.js builds on
// first use and after every change. Where that cannot be built, or with RTPROBE_FROM_SOURCE=1,
// the sources run through tsx's loader instead.
import './v8-start-flags.js'; // first: before this launcher's own work grows the heap
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cachedBundleEntry } from './bundle-cache.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = process.env.RTPROBE_FROM_SOURCE === '1' ? null : await cachedBundleEntry(root);
if (entry) {
  await import(pathToFileURL(entry).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
