// The read guard's policy without a store: the threshold (more than N users AND more than P %)
// and the user-drop verdict. Group removals: group-removal-guard.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SAFETY, assertPlausibleRead, exceedsSafety } from './read-guard.ts';

test('the threshold needs both: more than 20 users and more than 10%', () => {
  assert.equal(exceedsSafety(21, 100, DEFAULT_SAFETY), true);
  assert.equal(exceedsSafety(20, 100, DEFAULT_SAFETY), false, 'not more than 20');
  assert.equal(exceedsSafety(150, 2000, DEFAULT_SAFETY), false, '7.5% of 2,000');
  assert.equal(exceedsSafety(201, 2000, DEFAULT_SAFETY), true);
});

test('a read is quarantined when it returns nobody while users are linked, or drops past the threshold', () => {
  assert.throws(() => assertPlausibleRead([{ targetId: 'jira', linked: 3, notReturned: 3 }], 0, DEFAULT_SAFETY), /returned 0 users and 3 of the 3 users linked in target 'jira' were not returned/);
  assert.throws(() => assertPlausibleRead([{ targetId: 'jira', linked: 20_000, notReturned: 19_900 }], 100, DEFAULT_SAFETY), /nobody is reported missing/);
  assert.doesNotThrow(() => assertPlausibleRead([{ targetId: 'jira', linked: 2000, notReturned: 5 }], 1995, DEFAULT_SAFETY), 'a few leavers are a change');
  assert.doesNotThrow(() => assertPlausibleRead([{ targetId: 'jira', linked: 0, notReturned: 0 }], 0, DEFAULT_SAFETY), 'nothing linked yet');
  assert.doesNotThrow(() => assertPlausibleRead([{ targetId: 'jira', linked: 2000, notReturned: 500 }], 1500, { maxUsers: 1000, maxPercent: 50 }), 'a connector may allow more');
});
