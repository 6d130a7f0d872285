// Entry of the evaluation worker thread. The worker starts without the parent's Node options
// (a test runner's or a CLI's flags mean nothing to it), so it loads tsx itself, as bin/idsync.mjs does.
import { register } from 'tsx/esm/api';

register();
await import('./sandbox-worker.ts');
