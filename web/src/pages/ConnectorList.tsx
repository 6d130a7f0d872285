import { useEffect, useRef, useState } from 'react';
import { Alert, Anchor, Badge, Button, Group, Loader, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { fmtTime, get, type Active, type RunRecord } from '../api';
import { go } from '../router';
import { useRunEvents } from '../live';

interface Summary {
  id: string;
  name: string;
  source: { type: string };
  targets: Array<{ id: string; type: string }>;
  status: string;
  lastRun: RunRecord | null;
  schedule: { cron: string; timezone: string; enabled: boolean; description: { text?: string; next: string[] } } | null;
  nextRun: string | null;
  active?: Active;
}

export const statusColor: Record<string, string> = { succeeded: 'green', partial: 'yellow', failed: 'red', running: 'blue', 'never-run': 'gray' };

export function StatusBadge({ status }: { status: string }) {
  // Never narrower than its word: squeezed by a table or a row of facts it was cut ("SUCCEED…").
  return <Badge variant="light" color={statusColor[status] ?? 'gray'} style={{ flexShrink: 0, overflow: 'visible' }} styles={{ label: { overflow: 'visible' } }}>{status === 'never-run' ? 'never run' : status}</Badge>;
}

export function Counts({ counts }: { counts: Record<string, number> }) {
  const shown = (['created', 'updated', 'unchanged', 'failed', 'skipped'] as const).filter((k) => counts[k]);
  if (!shown.length) return <Text size="xs" c="dimmed">{counts.read ?? 0} read, no changes</Text>;
  return (
    <Text size="xs">
      {shown.map((k, i) => (
        <span key={k}>{i > 0 && ' · '}<Text span c={k === 'failed' ? 'red' : undefined} size="xs" fw={k === 'failed' ? 700 : undefined}>{counts[k]} {k}</Text></span>
      ))}
    </Text>
  );
}

/** Settings → Connectors: each connector with source, targets, status, last run and next run. */
export function ConnectorList({ isAdmin }: { isAdmin: boolean }) {
  const [rows, setRows] = useState<Summary[] | undefined>();
  const [error, setError] = useState<string>();
  const shown = useRef(true);
  const load = () => get('/connectors').then((r) => shown.current && setRows(r.connectors)).catch((e) => shown.current && setError(e.message));
  useEffect(() => {
    shown.current = true;
    void load();
    return () => { shown.current = false; };
  }, []);
  // Runs starting and ending change status and last run: read the list again then. Progress
  // only changes the running connector's counts, pushed by the server.
  useRunEvents(undefined, {
    started: () => void load(),
    finished: () => void load(),
    progress: (e) => setRows((list) => list?.map((c) => (c.id === e.connectorId && c.active && e.progress ? { ...c, active: { ...c.active, progress: e.progress } } : c))),
    fallback: () => void load(),
  });

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Connectors</Title>
        {isAdmin && <Button onClick={() => go('/connectors/new')}>Add connector</Button>}
      </Group>
      {error && <Alert color="red">{error}</Alert>}
      {!rows && !error && <Loader size="sm" />}
      {rows && rows.length === 0 && (
        <Alert color="gray" title="No connector yet">
          A connector reads users from one identity provider and writes them into one or more Atlassian products.{' '}
          {isAdmin ? 'Use Add connector to set up the first one.' : 'An administrator has to set one up.'}
        </Alert>
      )}
      {rows && rows.length > 0 && (
        <Table striped highlightOnHover withTableBorder data-testid="connector-list">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th><Table.Th>Source</Table.Th><Table.Th>Targets</Table.Th><Table.Th>Status</Table.Th>
              <Table.Th>Last run</Table.Th><Table.Th>Next scheduled run</Table.Th><Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {rows.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td><Anchor href={`#/connectors/${c.id}`} fw={600}>{c.name}</Anchor><Text size="xs" c="dimmed">{c.id}</Text></Table.Td>
                <Table.Td>{c.source.type}</Table.Td>
                <Table.Td>{c.targets.map((t) => <Badge key={t.id} variant="outline" mr={4} tt="none">{t.id} · {t.type}</Badge>)}</Table.Td>
                <Table.Td>
                  <StatusBadge status={c.status} />
                  {c.active && <Text size="xs" c="dimmed">{c.active.progress.read} read · {c.active.progress.written} written</Text>}
                </Table.Td>
                <Table.Td>
                  {c.lastRun ? (
                    <Stack gap={0}>
                      <Anchor size="sm" href={`#/runs/${c.lastRun.id}`}>{fmtTime(c.lastRun.startedAt)}{c.lastRun.dryRun ? ' (simulation)' : ''}{c.lastRun.kind === 'user' ? ' (one user)' : c.lastRun.kind === 'incremental' ? ' (incremental)' : c.lastRun.kind === 'push' ? ' (SCIM push)' : ''}</Anchor>
                      <Counts counts={c.lastRun.counts} />
                    </Stack>
                  ) : <Text size="sm" c="dimmed">never</Text>}
                </Table.Td>
                <Table.Td>
                  {c.nextRun ? (
                    <Tooltip label={c.schedule?.description.text ?? ''}><Text size="sm">{fmtTime(c.nextRun)}</Text></Tooltip>
                  ) : <Text size="sm" c="dimmed">{c.schedule && !c.schedule.enabled ? 'schedule paused' : 'no schedule'}</Text>}
                </Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Button size="compact-sm" variant="default" onClick={() => go(`/connectors/${c.id}`)}>{isAdmin ? 'Edit' : 'View'}</Button>
                    <Button size="compact-sm" variant="default" onClick={() => go(`/connectors/${c.id}/sync`)}>Sync</Button>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
