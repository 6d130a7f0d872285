// Terminal output: progress bars on a terminal (never with --json or when piped), run
// summaries and per-user change listings.
import cliProgress from 'cli-progress';
import type { SyncProgress } from '../engine/api.ts';
import type { RunRecord, RunItem } from '../store/runs.ts';
import type { FieldChange, Json } from '../core/types.ts';

export function progressReporter(enabled: boolean): { onProgress?: (p: SyncProgress) => void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: ' {phase} |{bar}| read {read} · written {written} · failed {failed}',
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress(p) {
      // The total is unknown while reading; grow it with what has been read.
      const total = Math.max(p.read, p.planned, 1);
      if (!started) {
        bar.start(total, p.planned, { ...p });
        started = true;
      }
      bar.setTotal(total);
      bar.update(p.planned, { ...p });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

const RUN_KIND_WORDS: Record<RunRecord['kind'], string> = { full: 'full sync', incremental: 'incremental sync', user: 'user sync', cleanup: 'approved cleanup', push: 'SCIM push' };

export function summaryLine(run: RunRecord): string {
  const c = run.counts;
  const kind = `${run.dryRun ? 'simulated ' : ''}${RUN_KIND_WORDS[run.kind]}`;
  const line = `${kind} ${run.status}: read ${c.read}, created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, failed ${c.failed}, skipped ${c.skipped}, missing ${c.missing}; users written ${c.usersWritten} (run ${run.id})`;
  const targets = Object.entries(c.targets ?? {});
  const cleanup = (['disabled', 'deleted', 'anonymised', 'deactivated', 'quarantined'] as const).filter((k) => c[k]).map((k) => `${k} ${c[k]}`);
  const withCleanup = cleanup.length ? `${line}\ncleanup: ${cleanup.join(', ')}` : line;
  const quarantined = run.quarantine ? `${withCleanup}\nquarantine ${run.quarantine.id}: ${run.quarantine.affected} users held back; review with: idsync quarantine show ${run.quarantine.id}` : withCleanup;
  const head = run.notice ? `${quarantined}\nnote: ${run.notice}` : quarantined;
  if (targets.length < 2) return head;
  const per = targets.map(([id, t]) => `  ${id}: created ${t.created}, updated ${t.updated}, unchanged ${t.unchanged}, failed ${t.failed}, skipped ${t.skipped}, missing ${t.missing}; users written ${t.usersWritten}`);
  return [head, ...per].join('\n');
}

/** One word for an empty value, as in the admin UI: a missing and a cleared value both read "(empty)". */
export function formatValue(v: Json | undefined): string {
  if (v === undefined || v === null || v === '') return '(empty)';
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function formatChange(c: FieldChange): string {
  if (c.field === 'groups' && (c.add || c.remove)) {
    const parts = [...(c.add ?? []).map((g) => `+${g}`), ...(c.remove ?? []).map((g) => `-${g}`)];
    return `${c.field}: ${parts.join(' ')}${c.error ? `  ✗ ${c.error}` : ''}`;
  }
  return `${c.field}: ${formatValue(c.before)} → ${formatValue(c.after)}${c.error ? `  ✗ ${c.error}` : ''}`;
}

export function printItems(items: RunItem[], out: (s: string) => void = (s) => process.stdout.write(s + '\n')): void {
  for (const it of items) {
    out(`${it.operation.padEnd(9)} ${it.label ?? it.sourceId ?? ''}${it.targetId ? `  [${it.targetId}]` : ''}`);
    if (it.error) out(`          ${it.error}`);
    // How a first-contact user was (or, simulated, would be) matched: "would link to jdoe (key …) by email".
    const match = it.details?.match;
    if (typeof match === 'string' && !it.error) out(`          ${match}`);
    for (const c of it.changes) out(`          ${formatChange(c)}`);
  }
}
