// node --import this-file: prints every file module of ours that is loaded (not node_modules)
// to standard error as `module-loaded URL`, so a test can tell what a command imports.
import { register } from 'node:module';

register('data:text/javascript,' + encodeURIComponent(`
export async function load(url, context, next) {
  if (url.startsWith('file://') && !url.includes('/node_modules/')) process.stderr.write('module-loaded ' + url + '\\n');
  return next(url, context);
}`));
