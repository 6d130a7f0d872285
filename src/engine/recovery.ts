// Recovery of the intents a dead run left behind (see src/store/intents.ts). Runs at the start
// of every run, before any user is planned; costs one query when there is nothing to recover.
//
// For each outstanding intent the target user is re-read (like --reconcile, for that user only):
// - its link is rebuilt from what the target holds, without a fingerprint, so the user is
//   mapped and planned in full this run;
// - memberships the dead run meant to add become idsync's (managed) where the user holds them,
//   so idsync removes them again when the user leaves the group;
// - an account a create intent made is linked and journaled as created in the dead run's own
//   journal, naming the run that recorded it.
// A user that cannot be re-read stays unknown: it keeps its intent and is not written this run.
// Recovery records only what a target confirms and writes nothing to a target, so a dry run
// recovers too (its plan is then made from the truth).
import type { FieldValues, TargetUser } from '../core/types.ts';
import { errorText } from '../core/errors.ts';
import type { Store } from '../store/index.ts';
import type { Link } from '../store/links.ts';
import type { IntentKey, WriteIntent } from '../store/intents.ts';
import type { RunItem } from '../store/runs.ts';
import type { Runtime, TargetRuntime } from './runtime.ts';
import { mapLimit } from './concurrency.ts';
import type { CircuitBreaker } from './circuit.ts';
import { groupNames } from '../targets/group-delta.ts';

/** Per target id: source ids whose state in the target is still unknown, with the reason. */
export type Unresolved = Map<string, Map<string, string>>;

export async function recoverIntents(store: Store, runtime: Runtime, runId: string, breakerOf: (t: TargetRuntime) => CircuitBreaker): Promise<Unresolved> {
  const unresolved: Unresolved = new Map();
  const intents = await store.intents.outstanding(runtime.connector.id);
  if (intents.length === 0) return unresolved;
  const connectorId = runtime.connector.id;
  const links: Link[] = [];
  const cleared: IntentKey[] = [];
  const created: Array<{ runId: string; item: Omit<RunItem, 'seq'> }> = [];
  for (const [targetId, list] of groupBy(intents, (i) => i.targetId)) {
    const t = runtime.targets.find((x) => x.config.id === targetId);
    if (!t) {
      // The target was removed from the connector: nothing of it will be synced again.
      cleared.push(...list);
      continue;
    }
    const known = await store.links.getMany(connectorId, targetId, list.map((i) => i.sourceId));
    const breaker = breakerOf(t);
    await mapLimit(list, t.config.concurrency, async (intent) => {
      if (breaker.open) return; // the target is given up for this run: the intent waits for the next
      const link = known.get(intent.sourceId);
      let actual: TargetUser | null;
      try {
        const key = intent.targetKey ?? link?.targetKey;
        actual = key
          ? await t.connector.readUser({ key, username: link?.targetUsername ?? undefined }, t.fields)
          : await t.connector.findUser({ username: intent.username ?? undefined, email: intent.email ?? undefined }, t.fields);
      } catch (e) {
        breaker.failure(e);
        let reasons = unresolved.get(targetId);
        if (!reasons) unresolved.set(targetId, (reasons = new Map()));
        reasons.set(intent.sourceId, `run ${intent.runId} stopped while writing this user to ${targetId}, and re-reading it failed: ${errorText(e)}; it is retried next run`);
        return;
      }
      cleared.push(intent);
      if (!actual) {
        // A create that never reached the target, or a linked user deleted meanwhile: the
        // link (if any) is planned in full next time.
        if (link) links.push({ ...link, fingerprint: null });
        return;
      }
      if (!link) {
        const owner = await store.links.byTargetKey(connectorId, targetId, actual.ref.key);
        if (owner && owner.sourceId !== intent.sourceId) return; // another user's account: the normal sync reports the clash
      }
      links.push(recoveredLink(t, intent, link, actual));
      if (intent.op === 'create' && !link) {
        created.push({
          runId: intent.runId,
          item: {
            sourceId: intent.sourceId,
            label: intent.label,
            targetId,
            operation: 'created',
            error: null,
            changes: [],
            details: { matched: 'none', targetKey: actual.ref.key, recovered: `this run created the account but stopped before recording it; recorded by run ${runId}` },
          },
        });
      }
    });
  }
  await store.intents.recover({ connectorId, links, cleared, created });
  return unresolved;
}

/**
 * The link as the target holds the user now. Its `groups` snapshot is the managed set that the
 * user actually holds: groups idsync managed before, plus the ones the dead run meant to add.
 */
function recoveredLink(t: TargetRuntime, intent: WriteIntent, link: Link | undefined, actual: TargetUser): Link {
  const applied: FieldValues = {};
  for (const f of t.fields) if (f in actual.values) applied[f] = actual.values[f]!;
  const claimed = new Set([...(link?.managedGroups ?? []), ...intent.groupsAdd].map((g) => g.toLowerCase()));
  const managed = groupNames(actual.values.groups)
    .filter((g) => claimed.has(g.toLowerCase()))
    .sort();
  if (t.fields.includes('groups')) applied.groups = managed;
  return {
    connectorId: intent.connectorId,
    targetId: intent.targetId,
    sourceId: intent.sourceId,
    targetKey: actual.ref.key,
    targetUsername: actual.ref.username ?? link?.targetUsername ?? null,
    label: intent.label ?? link?.label ?? null,
    applied,
    managedGroups: managed,
    missingSince: link?.missingSince ?? null,
    fingerprint: null,
    // What cleanup did stays known: the re-read confirms values, not why idsync wrote them.
    cleanup: link?.cleanup ?? null,
  };
}

function groupBy<T>(items: T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of items) out.set(key(x), [...(out.get(key(x)) ?? []), x]);
  return out;
}
