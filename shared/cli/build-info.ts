import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where this copy of rtprobe runs from: the TypeScript sources of a checkout (run through tsx),
 * or the bundle of `npm run build` (dist/rtprobe/, plain JavaScript). The bundler defines
 * RTPROBE_BUNDLE as a constant (shared/cli/build-bundle.js); in the sources it does not exist.
 */
declare const RTPROBE_BUNDLE: { version: string } | undefined;

const bundle = typeof RTPROBE_BUNDLE === 'undefined' ? undefined : RTPROBE_BUNDLE;

/** true in dist/rtprobe/: modules sit in lib/ beside the addon, the launcher one level up */
export const IS_BUNDLE = bundle !== undefined;

/** package.json's version, fixed into the bundle when it was built */
export const RTPROBE_VERSION: string = bundle?.version
  ?? (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The command that starts rtprobe again (the demo's agent, the lab's agents and device model):
 * the bundle's launcher, or the checkout's shared/cli/rtprobe.js. A bundle's modules are all in
 * dist/rtprobe/lib/, so import.meta.url of whichever chunk holds this code is enough.
 */
export const RTPROBE_CLI: string = fileURLToPath(IS_BUNDLE
  ? new URL('../rtprobe', import.meta.url)
  : new URL('./rtprobe.js', import.meta.url));
