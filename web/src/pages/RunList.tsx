import { useEffect, useState } from 'react';
import { Alert, Anchor, Loader, Stack, Table, Text, Title } from '@mantine/core';
import { fmtTime, get, type RunRecord } from '../api';
import { Counts, StatusBadge } from './ConnectorList';
import { triggerLabel } from '../values';

export function duration(r: RunRecord): string {
  if (!r.finishedAt) return 'running';
  const s = Math.round((Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${s % 60}s`;
}

/** A run's kind in words: full, incremental (what changed since the last read), or one user. */
export function runKindLabel(r: Pick<RunRecord, 'kind' | 'userRef' | 'dryRun'>): string {
  const kind = r.kind === 'user' ? `user ${r.userRef ?? ''}` : r.kind === 'incremental' ? 'incremental' : r.kind === 'cleanup' ? 'approved cleanup' : r.kind === 'push' ? 'SCIM push' : 'full';
  return `${kind}${r.dryRun ? ' (simulation)' : ''}`;
}

/** Results: run history, newest first. */
export function RunList() {
  const [runs, setRuns] = useState<RunRecord[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    get('/runs?limit=200').then((r) => setRuns(r.runs)).catch((e) => setError(e.message));
  }, []);
  return (
    <Stack>
      <Title order={3}>Results</Title>
      {error && <Alert color="red">{error}</Alert>}
      {!runs && !error && <Loader size="sm" />}
      {runs?.length === 0 && <Alert color="gray" title="No runs yet">Runs appear here once a connector has synced, on a schedule or by hand.</Alert>}
      {runs && runs.length > 0 && (
        <Table striped highlightOnHover withTableBorder data-testid="run-list">
          <Table.Thead><Table.Tr><Table.Th>Started</Table.Th><Table.Th>Connector</Table.Th><Table.Th>Kind</Table.Th><Table.Th>Trigger</Table.Th><Table.Th>Status</Table.Th><Table.Th>Duration</Table.Th><Table.Th>Result</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {runs.map((r) => (
              <Table.Tr key={r.id}>
                <Table.Td><Anchor href={`#/runs/${r.id}`}>{fmtTime(r.startedAt)}</Anchor></Table.Td>
                <Table.Td>{r.connectorId}</Table.Td>
                <Table.Td>{runKindLabel(r)}</Table.Td>
                <Table.Td>{triggerLabel(r.trigger)}</Table.Td>
                <Table.Td><StatusBadge status={r.status} /></Table.Td>
                <Table.Td>{duration(r)}</Table.Td>
                <Table.Td>{r.error ? <Text size="xs" c="red">{r.error}</Text> : <Counts counts={r.counts} />}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
