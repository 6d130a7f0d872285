// Quarantined cleanups (issue 10): cleanups idsync held back instead of doing them. The list,
// and one quarantine with the users it holds: approve all, approve a selection (each user is
// re-checked in the identity provider first), or reject. Administrators only.
import { useCallback, useEffect, useState } from 'react';
import { Alert, Anchor, Badge, Button, Checkbox, Group, Loader, Pagination, Stack, Table, Text, Title } from '@mantine/core';
import { fmtTime, get, post } from '../api';

export interface Quarantine {
  id: string;
  connectorId: string;
  status: 'open' | 'approved' | 'rejected';
  reason: 'empty-read' | 'read-drop' | 'threshold' | 'group-removals';
  message: string;
  runId: string;
  affected: number;
  held: number;
  createdAt: string;
  closedAt: string | null;
  closedBy: string | null;
}

interface HeldUser {
  targetId: string;
  sourceId: string;
  label: string | null;
  targetKey: string;
  targetUsername: string | null;
  planned: string;
  reason: string;
  /** A held group removal: the groups whose membership is kept. */
  groups?: string[];
  state: 'held' | 'done' | 'skipped' | 'rejected';
  note: string | null;
  runId: string | null;
}

const REASON: Record<Quarantine['reason'], string> = {
  'empty-read': 'the identity provider returned nobody in scope',
  'read-drop': 'a read left out too many linked users',
  threshold: 'more account removals (leavers, deactivations) than the safety threshold',
  'group-removals': 'more group-membership removals than the safety threshold',
};
const PLANNED: Record<string, string> = { disable: 'disable', removeAccess: 'remove access', anonymise: 'anonymise', delete: 'delete', keep: 'report only', protected: 'protected', done: 'already done', deactivate: 'deactivate', removeGroups: 'remove from groups' };
const STATUS_COLOR = { open: 'yellow', approved: 'green', rejected: 'gray' } as const;
const PAGE = 50;

export function QuarantineList() {
  const [items, setItems] = useState<Quarantine[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    get('/quarantines?limit=200').then((r) => setItems(r.quarantines)).catch((e) => setError(e.message));
  }, []);
  return (
    <Stack>
      <Title order={3}>Quarantined cleanups</Title>
      <Text size="sm" c="dimmed">A cleanup idsync did not trust is held here: nothing was disabled or deleted until you decide.</Text>
      {error && <Alert color="red">{error}</Alert>}
      {!items && !error && <Loader size="sm" />}
      {items?.length === 0 && <Alert color="gray" title="Nothing held">No cleanup has been quarantined.</Alert>}
      {items && items.length > 0 && (
        <Table striped highlightOnHover withTableBorder data-testid="quarantine-list">
          <Table.Thead><Table.Tr><Table.Th>Held since</Table.Th><Table.Th>Connector</Table.Th><Table.Th>Why</Table.Th><Table.Th>Status</Table.Th><Table.Th>Users held</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {items.map((q) => (
              <Table.Tr key={q.id}>
                <Table.Td><Anchor href={`#/quarantines/${q.id}`}>{fmtTime(q.createdAt)}</Anchor></Table.Td>
                <Table.Td>{q.connectorId}</Table.Td>
                <Table.Td>{REASON[q.reason]}</Table.Td>
                <Table.Td><Badge color={STATUS_COLOR[q.status]} variant="light">{q.status}</Badge></Table.Td>
                <Table.Td>{q.held} of {q.affected}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}

export function QuarantineDetail({ id }: { id: string }) {
  const [q, setQ] = useState<Quarantine>();
  const [users, setUsers] = useState<{ total: number; items: HeldUser[] }>();
  const [page, setPage] = useState(1);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [result, setResult] = useState<{ runId: string; text: string; skipped: Array<{ sourceId: string; note: string }> }>();

  const load = useCallback(async () => {
    try {
      const r = await get(`/quarantines/${encodeURIComponent(id)}?limit=${PAGE}&offset=${(page - 1) * PAGE}`);
      setQ(r.quarantine);
      setUsers(r.users);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [id, page]);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: 'all' | 'selection' | 'reject') => {
    setBusy(true);
    setError(undefined);
    try {
      if (what === 'reject') {
        await post(`/quarantines/${encodeURIComponent(id)}/reject`, {});
        setResult({ runId: '', text: 'Rejected: nothing was done to the users held.', skipped: [] });
      } else {
        const r = await post(`/quarantines/${encodeURIComponent(id)}/approve`, what === 'all' ? {} : { sourceIds: [...selected] });
        const c = r.run.counts;
        const did = ['disabled', 'deleted', 'anonymised'].filter((k) => c[k]).map((k) => `${c[k]} ${k}`).join(', ') || 'no account changed';
        setResult({ runId: r.run.id, text: `Approved: ${did}${r.skipped.length ? `; ${r.skipped.length} skipped` : ''}${c.failed ? `; ${c.failed} failed` : ''}.`, skipped: r.skipped });
      }
      setSelected(new Set());
      await load();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  if (!q) return error ? <Alert color="red">{error}</Alert> : <Loader size="sm" />;
  const open = q.status === 'open';
  const toggle = (sourceId: string) => setSelected((s) => {
    const n = new Set(s);
    if (n.has(sourceId)) n.delete(sourceId);
    else n.add(sourceId);
    return n;
  });
  return (
    <Stack data-testid="quarantine-detail">
      <Group justify="space-between">
        <Title order={3}>Quarantined cleanup of {q.connectorId}</Title>
        <Badge color={STATUS_COLOR[q.status]} variant="light" size="lg" data-testid="quarantine-status">{q.status}</Badge>
      </Group>
      <Alert color={open ? 'yellow' : 'gray'} title={REASON[q.reason]}>
        <Text size="sm">{q.message}. Nothing was disabled or deleted.</Text>
        <Text size="sm">Held by <Anchor href={`#/runs/${q.runId}`}>this run</Anchor> on {fmtTime(q.createdAt)}{q.closedAt ? `; closed ${fmtTime(q.closedAt)}${q.closedBy ? ` by ${q.closedBy}` : ''}` : ''}.</Text>
      </Alert>
      {open && (
        <Group>
          <Button loading={busy} onClick={() => act('all')} data-testid="approve-all">Approve all {q.held}</Button>
          <Button loading={busy} variant="light" disabled={selected.size === 0} onClick={() => act('selection')} data-testid="approve-selected">Approve selected ({selected.size})</Button>
          <Button loading={busy} variant="outline" color="gray" onClick={() => act('reject')} data-testid="reject">Reject</Button>
          <Text size="xs" c="dimmed">Approving re-checks each user in the identity provider first: a user who is back is skipped.</Text>
        </Group>
      )}
      {error && <Alert color="red" data-testid="quarantine-error">{error}</Alert>}
      {result && (
        <Alert color="green" data-testid="quarantine-result">
          <Text size="sm">{result.text} {result.runId && <Anchor href={`#/runs/${result.runId}`}>See the run</Anchor>}</Text>
          {result.skipped.map((s) => <Text size="xs" key={s.sourceId}>{s.sourceId}: {s.note}</Text>)}
        </Alert>
      )}
      {users && (
        <Table striped withTableBorder data-testid="quarantine-users">
          <Table.Thead><Table.Tr><Table.Th /><Table.Th>User</Table.Th><Table.Th>Target</Table.Th><Table.Th>Account</Table.Th><Table.Th>Planned</Table.Th><Table.Th>Why gone</Table.Th><Table.Th>State</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {users.items.map((u) => (
              <Table.Tr key={`${u.targetId}/${u.sourceId}`} data-source-id={u.sourceId}>
                <Table.Td>{u.state === 'held' && open ? <Checkbox aria-label={`select ${u.label ?? u.sourceId}`} checked={selected.has(u.sourceId)} onChange={() => toggle(u.sourceId)} /> : null}</Table.Td>
                <Table.Td><Text size="sm">{u.label ?? u.sourceId}</Text><Text size="xs" c="dimmed">{u.sourceId}</Text></Table.Td>
                <Table.Td>{u.targetId}</Table.Td>
                <Table.Td>{u.targetUsername ?? u.targetKey}</Table.Td>
                <Table.Td>{PLANNED[u.planned] ?? u.planned}{u.groups?.length ? `: ${u.groups.join(', ')}` : ''}</Table.Td>
                <Table.Td>{u.reason === 'outOfScope' ? 'out of scope' : u.reason}</Table.Td>
                <Table.Td><Text size="sm">{u.state}</Text>{u.note && <Text size="xs" c="dimmed">{u.note}</Text>}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {users && users.total > PAGE && <Pagination total={Math.ceil(users.total / PAGE)} value={page} onChange={setPage} />}
    </Stack>
  );
}
