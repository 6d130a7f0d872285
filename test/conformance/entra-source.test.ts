// The Entra ID source against the Graph emulator, through the shared source conformance suite,
// plus what only Graph has: the three documented answers to an expired delta token, and
// tokens that age out after 7 days.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIdsyncError } from '../../src/core/errors.ts';
import type { SourceQuery } from '../../src/core/types.ts';
import { runSourceConformance } from './source-suite.ts';
import { entraFixture, type EntraFixture, type ExpiryAnswer } from './entra-fixture.ts';

runSourceConformance('entra', () => entraFixture());
runSourceConformance('entra, advanced-query filter', () => entraFixture({ filter: 'advanced' }));

describe('entra change feed: expired delta tokens', () => {
  let f: EntraFixture;
  const query: SourceQuery = { attributes: ['department'], groups: true, manager: true };
  const DAY = 24 * 3600 * 1000;

  before(async () => {
    f = await entraFixture();
  });
  after(async () => {
    await f?.close();
  });
  beforeEach(async () => {
    await f.seed('sample');
  });

  /** The checkpoint a seeding round ends with. */
  async function seeded(): Promise<string> {
    let checkpoint: string | undefined;
    for await (const page of f.source().changes!(null, query)) checkpoint = page.checkpoint ?? checkpoint;
    assert.equal(typeof checkpoint, 'string', 'the seeding round ends with a checkpoint');
    return checkpoint!;
  }
  async function drain(checkpoint: string): Promise<void> {
    for await (const _ of f.source().changes!(checkpoint, query));
  }
  const skipWithout = (t: { skip: (m: string) => void }) => {
    if (f.unsupported?.changes === undefined) return false;
    t.skip(`no changes (${f.unsupported.changes})`);
    return true;
  };

  for (const answer of ['syncStateNotFound', 'resyncRequired', 'gone'] as ExpiryAnswer[]) {
    test(`Graph's ${answer} answer is CHECKPOINT_EXPIRED`, async (t) => {
      if (skipWithout(t)) return;
      const checkpoint = await seeded();
      await f.expireCheckpoints(answer);
      await assert.rejects(drain(checkpoint), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), `${answer} means read in full`);
    });
  }

  test('a checkpoint is good for 7 days, then CHECKPOINT_EXPIRED', async (t) => {
    if (skipWithout(t)) return;
    const checkpoint = await seeded();
    await f.advanceClock(6 * DAY);
    await drain(checkpoint);
    await f.advanceClock(2 * DAY);
    await assert.rejects(drain(checkpoint), (e: unknown) => isIdsyncError(e, 'CHECKPOINT_EXPIRED'), 'eight days old: read in full');
  });
});
