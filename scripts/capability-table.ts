// Rewrites the capability table in README.md from the targets' declarations.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderCapabilityTable, replaceTable } from '../src/targets/capability-table.ts';

const readmePath = fileURLToPath(new URL('../README.md', import.meta.url));
const updated = replaceTable(readFileSync(readmePath, 'utf8'), await renderCapabilityTable());
writeFileSync(readmePath, updated);
console.log('README.md capability table updated');
