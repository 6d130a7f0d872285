#!/usr/bin/env node
// Entry point of the `idsync` command. The sources are TypeScript run through tsx,
// so a checkout works after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
