import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Journal } from './journal.ts';
import type { RunRepo } from '../store/runs.ts';

test('journal counts: members removed per group, by lower-case name, also for names an object would take for its own', () => {
  const j = new Journal({} as RunRepo, 'run-1');
  const removal = (sourceId: string, groups: string[]) => j.record({
    sourceId, label: sourceId, targetId: 'jira', operation: 'updated', wrote: true,
    changes: [{ field: 'groups', before: groups, after: [], remove: groups } as never],
  });
  removal('a', ['__proto__', 'Jira-Users']);
  removal('b', ['constructor', 'jira-users']);
  removal('c', ['__proto__']);
  // Not removals: a simulated write, and a groups change the target refused.
  j.record({ sourceId: 'd', label: 'd', targetId: 'jira', operation: 'updated', wrote: true, details: { simulated: true }, changes: [{ field: 'groups', remove: ['jira-users'] } as never] });
  j.record({ sourceId: 'e', label: 'e', targetId: 'jira', operation: 'failed', wrote: true, changes: [{ field: 'groups', remove: ['jira-users'], error: 'HTTP 500' } as never] });
  const counted = JSON.parse(JSON.stringify(j.counts.targets!.jira!.groupsRemoved));
  // Parsed, not a literal: in a literal `__proto__` would set the prototype instead of a key.
  assert.deepEqual(counted, JSON.parse('{"__proto__": 2, "jira-users": 2, "constructor": 1}'));
  assert.equal(Object.keys(counted).length, 3, 'three groups counted, none lost to a prototype');
});
