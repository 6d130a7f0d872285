// A run's result browser: filter by operation, search by user, before → after per field, errors
// in plain words, download as JSON or CSV.
import { useEffect, useState } from 'react';
import { Alert, Anchor, Badge, Button, Chip, Group, Loader, Pagination, Paper, Stack, Table, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { fmtTime, get, type RunRecord } from '../api';
import { Counts, StatusBadge } from './ConnectorList';
import { duration } from './RunList';
import { showValue as show, triggerLabel } from '../values';

const OPERATIONS = ['created', 'updated', 'disabled', 'anonymised', 'deleted', 'quarantined', 'unchanged', 'failed', 'skipped', 'missing'] as const;
const opColor: Record<string, string> = { created: 'green', updated: 'blue', disabled: 'orange', anonymised: 'orange', deleted: 'red', quarantined: 'yellow', unchanged: 'gray', failed: 'red', skipped: 'yellow', missing: 'grape' };
const PAGE = 50;


export function RunDetail({ id }: { id: string }) {
  const [run, setRun] = useState<RunRecord>();
  const [ops, setOps] = useState<string[]>([]);
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const [page, setPage] = useState(1);
  const [items, setItems] = useState<{ total: number; items: any[]; unlisted?: number }>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    get(`/runs/${encodeURIComponent(id)}`).then((r) => setRun(r.run)).catch((e) => setError(e.message));
  }, [id]);
  useEffect(() => {
    const t = setTimeout(() => { setQuery(search); setPage(1); }, 250);
    return () => clearTimeout(t);
  }, [search]);
  useEffect(() => {
    const qs = new URLSearchParams({ offset: String((page - 1) * PAGE), limit: String(PAGE) });
    if (ops.length) qs.set('operation', ops.join(','));
    if (query.trim()) qs.set('search', query.trim());
    get(`/runs/${encodeURIComponent(id)}/items?${qs}`).then(setItems).catch((e) => setError(e.message));
  }, [id, ops, query, page]);

  if (error) return <Alert color="red">{error}</Alert>;
  if (!run) return <Loader size="sm" />;
  return (
    <Stack maw={1400}>
      <div>
        <Anchor href="#/runs" size="sm">← Results</Anchor>
        <Title order={3}>Run of {run.connectorId}: {run.kind === 'user' ? `user ${run.userRef}` : run.kind === 'incremental' ? 'incremental sync' : run.kind === 'cleanup' ? 'approved cleanup' : run.kind === 'push' ? 'SCIM push' : 'full sync'}{run.dryRun ? ' (simulation: nothing was written)' : ''}</Title>
      </div>
      <Paper withBorder p="sm">
        <Group gap="md" wrap="wrap">
          <StatusBadge status={run.status} />
          <Text size="sm">Started {fmtTime(run.startedAt)} · {duration(run)} · started from the {triggerLabel(run.trigger)}</Text>
          <Counts counts={run.counts} />
          <Tooltip label="One per user and target to which a change was sent; a user written to two targets counts twice">
            <Text size="sm" c="dimmed">{run.counts.read ?? 0} read · {run.counts.usersWritten ?? 0} users written</Text>
          </Tooltip>
          <Group gap="xs" ml="auto">
            <Button component="a" size="xs" variant="default" href={`/api/v1/runs/${run.id}/download?format=json`}>Download JSON</Button>
            <Button component="a" size="xs" variant="default" href={`/api/v1/runs/${run.id}/download?format=csv`}>Download CSV</Button>
          </Group>
        </Group>
        {run.error && <Alert color="red" mt="sm" title="The run stopped">{run.error}</Alert>}
        {run.quarantine && (
          <Alert color="yellow" mt="sm" title="Cleanup held back" data-testid="run-quarantine">
            {run.quarantine.affected} users were not cleaned up: {run.quarantine.message}. <Anchor href={`#/quarantines/${run.quarantine.id}`}>Review the quarantine</Anchor>
          </Alert>
        )}
      </Paper>
      <Group justify="space-between">
        <Chip.Group multiple value={ops} onChange={(v) => { setOps(v); setPage(1); }}>
          <Group gap={6}>{OPERATIONS.map((o) => <Chip key={o} value={o} size="xs" color={opColor[o]}>{o}</Chip>)}</Group>
        </Chip.Group>
        <TextInput placeholder="Search user (name or id)" value={search} onChange={(e) => setSearch(e.currentTarget.value)} w={280} aria-label="Search user" />
      </Group>
      {/* A full sync counts its unchanged users without listing them (src/engine/journal.ts): said, never shown as rows that are not there. */}
      {!!items?.unlisted && (
        <Text size="sm" c="dimmed" data-testid="run-unlisted">
          {items.unlisted} user{items.unlisted === 1 ? '' : 's'} unchanged (not listed{query.trim() ? ', so not searched' : ''}): a full sync lists only the users it changed, failed, held or skipped.
        </Text>
      )}
      {items && items.total === 0 && (!items.unlisted || query.trim()) && <Alert color="gray">{ops.length || query ? 'No user matches this filter.' : 'This run has no per-user results.'}</Alert>}
      {items && items.total > 0 && (
        <>
          <Table withTableBorder striped data-testid="run-items" layout="fixed">
            <Table.Thead><Table.Tr><Table.Th w="22%">User</Table.Th><Table.Th w={110}>Target</Table.Th><Table.Th w={120}>Operation</Table.Th><Table.Th>Field: before → after</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {items.items.map((it) => (
                <Table.Tr key={`${it.seq}`} style={{ verticalAlign: 'top' }}>
                  {/* A long display name wraps in its column instead of squeezing the changes. */}
                  <Table.Td style={{ overflowWrap: 'anywhere' }}><Text size="sm">{it.label ?? it.sourceId}</Text><Text size="xs" c="dimmed">{it.sourceId}</Text></Table.Td>
                  <Table.Td>{it.targetId}</Table.Td>
                  <Table.Td><Badge variant="light" color={opColor[it.operation] ?? 'gray'} miw={96} style={{ overflow: 'visible' }}>{it.operation}</Badge></Table.Td>
                  <Table.Td miw={360} style={{ overflowWrap: 'anywhere' }}>
                    {it.error && <Text size="sm" c="red">{it.error}</Text>}
                    {/* How a first-contact user was (simulated: would be) matched. */}
                    {!it.error && typeof it.details?.match === 'string' && <Text size="xs" c="dimmed" data-testid="item-match">{it.details.match}</Text>}
                    {it.changes.map((c: any) => (
                      <Text key={c.field} size="xs" ff="monospace">
                        {c.field}: <Text span c="dimmed" size="xs" ff="monospace">{show(c.before)}</Text> → <b>{show(c.after)}</b>
                        {c.add?.length ? ` (+${c.add.join(', +')})` : ''}{c.remove?.length ? ` (−${c.remove.join(', −')})` : ''}
                      </Text>
                    ))}
                    {!it.error && it.changes.length === 0 && <Text size="xs" c="dimmed">{it.details?.reason ?? 'no change'}</Text>}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <Group justify="space-between">
            <Text size="sm" c="dimmed">{items.total} result{items.total === 1 ? '' : 's'}</Text>
            {items.total > PAGE && <Pagination total={Math.ceil(items.total / PAGE)} value={page} onChange={setPage} size="sm" />}
          </Group>
        </>
      )}
    </Stack>
  );
}
