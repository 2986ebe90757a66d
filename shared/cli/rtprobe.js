#!/usr/bin/env node
// The rtprobe command. The sources are TypeScript, run through tsx's loader: no build step
// between a fresh clone and a working rig.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
