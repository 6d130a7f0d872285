import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideCleanup, globMatch, pseudonymOf, type CleanupInput } from './cleanup-policy.ts';
import type { LifecycleCapabilities } from '../core/types.ts';
import type { Link } from '../store/links.ts';
import { cleanupSchema } from '../config/cleanup-schema.ts';

const all: LifecycleCapabilities = { disable: true, delete: true, anonymise: true, renameUsername: true, removeAccess: false };
const cloud: LifecycleCapabilities = { disable: false, delete: false, anonymise: false, renameUsername: false, removeAccess: true, reasons: { disable: 'Jira Cloud has no deactivation' } };
const link = (extra: Partial<Link> = {}): Link => ({ connectorId: 'c', targetId: 'jira', sourceId: 's1', targetKey: 'k1', targetUsername: 'ada', label: 'Ada <ada@x>', applied: { 'user.active': true, groups: ['eng', 'staff'] }, managedGroups: ['eng', 'staff'], missingSince: null, fingerprint: null, ...extra });
const now = new Date('2026-01-10T00:00:00Z');
const input = (config: unknown, extra: Partial<CleanupInput> = {}): CleanupInput => ({ link: link(), reason: 'deleted', config: cleanupSchema.parse(config), lifecycle: all, groups: ['eng', 'staff'], now, ...extra });

test('the default is disable; on a target that cannot disable, product access is removed', () => {
  assert.equal(decideCleanup({ ...input({}), config: undefined }).step, 'disable');
  const c = decideCleanup(input({}, { lifecycle: cloud }));
  assert.equal(c.step, 'removeAccess');
  assert.deepEqual(c.removeGroups, ['eng', 'staff'], "idsync's memberships");
});

test('by reason, keep, and what is already done', () => {
  assert.equal(decideCleanup(input({ byReason: { outOfScope: 'keep' } }, { reason: 'outOfScope' })).step, 'keep');
  assert.equal(decideCleanup(input({ byReason: { outOfScope: 'keep' } })).step, 'disable', 'deleted falls back to action');
  assert.equal(decideCleanup(input({}, { link: link({ cleanup: { reason: 'deleted', disabledAt: '2026-01-01T00:00:00Z' } }) })).step, 'done');
  assert.equal(decideCleanup(input({ action: 'anonymise' })).pseudonymise, true);
});

test('delete after N days: due date set on disable, deletion once due and not before', () => {
  const first = decideCleanup(input({ deleteAfterDays: 30 }));
  assert.equal(first.step, 'disable');
  assert.equal(first.deleteDueAt, '2026-02-09T00:00:00.000Z');
  const state = { reason: 'deleted' as const, disabledAt: now.toISOString(), deleteDueAt: first.deleteDueAt! };
  assert.equal(decideCleanup(input({ deleteAfterDays: 30 }, { link: link({ cleanup: state }), now: new Date('2026-02-08T23:59:00Z') })).step, 'done');
  assert.equal(decideCleanup(input({ deleteAfterDays: 30 }, { link: link({ cleanup: state }), now: new Date('2026-02-09T00:00:00Z') })).step, 'delete');
});

test('removeGroups spares keepGroups; protected users and groups are never touched', () => {
  assert.deepEqual(decideCleanup(input({ removeGroups: true, keepGroups: ['st*'] })).removeGroups, ['eng']);
  assert.equal(decideCleanup(input({ protected: { users: ['ADA'] } })).step, 'protected', 'case-insensitive');
  assert.equal(decideCleanup(input({ protected: { users: ['*@x>'] } })).step, 'protected', 'by label pattern');
  assert.equal(decideCleanup(input({ protected: { groups: ['jira-admin*'] } }, { groups: ['jira-administrators'] })).step, 'protected');
  assert.equal(decideCleanup(input({ protected: { groups: ['jira-admin*'] } })).step, 'disable');
});

test('globs and pseudonyms', () => {
  assert.equal(globMatch('svc-?', 'svc-1'), true);
  assert.equal(globMatch('svc-?', 'svc-12'), false);
  assert.equal(globMatch('a.b', 'axb'), false, 'a dot is literal');
  const p = pseudonymOf('c', 's1');
  assert.deepEqual(p, pseudonymOf('c', 's1'), 'the same person, the same pseudonym');
  assert.notEqual(p['user.username'], pseudonymOf('c', 's2')['user.username']);
  assert.ok(!JSON.stringify(p).includes('s1'), 'the pseudonym does not reveal the source id');
});
