import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupDelta, groupNames } from './group-delta.ts';

test("the planner's delta wins; without it, before and after are compared, case-insensitively by default", () => {
  assert.deepEqual(groupDelta({ field: 'groups', before: ['a'], after: ['b'], add: ['x'], remove: [] }), { add: ['x'], remove: [] });
  assert.deepEqual(groupDelta({ field: 'groups', before: ['Jira-Users', 'old'], after: ['jira-users', 'new'] }), { add: ['new'], remove: ['old'] });
  assert.deepEqual(groupDelta({ field: 'groups', before: ['Jira-Users'], after: ['jira-users'] }, (a, b) => a === b), { add: ['jira-users'], remove: ['Jira-Users'] });
  assert.deepEqual(groupNames(['a', 1, null, 'b']), ['a', 'b'], 'only names count');
  assert.deepEqual(groupNames(null), []);
});
