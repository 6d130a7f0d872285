// Loaded with `node --import` before bin/idsync.mjs: reports every V8 flag the process sets at
// run time on stderr, so a test can see what the CLI entry applied (node has no API to read a flag).
import v8 from 'node:v8';
import { syncBuiltinESMExports } from 'node:module';

const setFlags = v8.setFlagsFromString;
v8.setFlagsFromString = (flags) => {
  process.stderr.write(`v8 flags set: ${flags}\n`);
  setFlags(flags);
};
// Named imports of node:v8 (`import { setFlagsFromString }`) see the replacement too.
syncBuiltinESMExports();
