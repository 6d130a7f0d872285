// Triggers: Sync a user (with its step-by-step report), Full sync and Simulate (with live
// progress pushed by the server's run events; polled only while that stream is down). A trigger
// while a run is in progress is refused by the server with a message.
import { useEffect, useState } from 'react';
import { Alert, Anchor, Badge, Button, Code, Group, Paper, Progress, SimpleGrid, Stack, Table, Text, Timeline, Title } from '@mantine/core';
import { get, post, type Active } from '../api';
import { Counts } from './ConnectorList';
import { UserPicker } from './UserPicker';
import { showMapped, showValue } from '../values';
import { useRunEvents, type RunEventData } from '../live';

type Last = { runId?: string; status: string; error?: string; finishedAt: string };
const activeOf = (e: RunEventData): Active => ({ kind: e.kind ?? 'full', dryRun: !!e.dryRun, trigger: e.trigger ?? '', ...(e.userRef ? { userRef: e.userRef } : {}), startedAt: e.startedAt ?? '', progress: e.progress ?? { phase: 'connecting', read: 0, planned: 0, written: 0, failed: 0 } });
const lastOf = (e: RunEventData): Last => ({ runId: e.runId, status: e.status ?? 'failed', ...(e.error ? { error: e.error } : {}), finishedAt: e.finishedAt ?? '' });


export function SyncPage({ id, isAdmin }: { id: string; isAdmin: boolean }) {
  const [userRef, setUserRef] = useState('');
  const [userBusy, setUserBusy] = useState(false);
  const [report, setReport] = useState<any>();
  const [error, setError] = useState<string>();
  const [activity, setActivity] = useState<{ active?: Active; last?: Last }>({});
  const [lastRun, setLastRun] = useState<any>();

  const loadLastRun = async (runId: string | undefined) => {
    if (runId) setLastRun((await get(`/runs/${runId}`)).run);
  };
  /** Reads the activity once: on opening the page, after a trigger, and while the stream is down. */
  const poll = async () => {
    try {
      const a = await get(`/connectors/${encodeURIComponent(id)}/activity`);
      setActivity(a);
      await loadLastRun(a.last?.runId);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void poll();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id]);
  useRunEvents(id, {
    snapshot: (list) => {
      const mine = list.find((c) => c.connectorId === id);
      // The server's bus knows only runs since it started; the activity read covers the rest.
      if (mine) setActivity((a) => ({ ...(mine.active ? { active: activeOf(mine.active) } : {}), last: mine.last ? lastOf(mine.last) : a.last }));
    },
    started: (e) => setActivity((a) => ({ ...a, active: activeOf(e) })),
    progress: (e) => setActivity((a) => (a.active ? { ...a, active: { ...a.active, progress: e.progress ?? a.active.progress } } : { ...a, active: activeOf(e) })),
    finished: (e) => {
      setActivity({ last: lastOf(e) });
      void loadLastRun(e.runId).catch(() => {});
    },
    fallback: () => void poll(),
  });

  async function full(dryRun: boolean) {
    setError(undefined);
    try {
      await post(`/connectors/${encodeURIComponent(id)}/sync`, { kind: 'full', dryRun });
    } catch (e) {
      setError((e as Error).message);
    }
  }

  async function syncUser(e: React.FormEvent) {
    e.preventDefault();
    setUserBusy(true);
    setError(undefined);
    setReport(undefined);
    try {
      setReport(await post(`/connectors/${encodeURIComponent(id)}/sync`, { kind: 'user', userRef }));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setUserBusy(false);
      // This run is now the last one: the box below must not keep showing the one before.
      await poll();
    }
  }

  const a = activity.active;
  const p = a?.progress;
  return (
    <Stack maw={1200}>
      <div>
        <Anchor href={`#/connectors/${id}`} size="sm">← Connector {id}</Anchor>
        <Title order={3}>Sync {id}</Title>
      </div>
      {error && <Alert color="red" role="alert" data-testid="sync-error">{error}</Alert>}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Paper withBorder p="md">
          <Title order={5}>Sync a user</Title>
          <Text size="sm" c="dimmed" mb="sm">Reads one user from the source and writes them to every target now, showing each step.</Text>
          <form onSubmit={syncUser}>
            <Group align="flex-end">
              <UserPicker connectorId={id} label="User" placeholder="name, mail, UPN, object id or Jira user name" value={userRef} onChange={setUserRef} style={{ flex: 1 }} disabled={!isAdmin} />
              <Button type="submit" loading={userBusy} disabled={!isAdmin || !userRef.trim()}>Sync user</Button>
            </Group>
          </form>
        </Paper>
        <Paper withBorder p="md">
          <Title order={5}>Full sync</Title>
          <Text size="sm" c="dimmed" mb="sm">Reads every user in scope and writes what changed. Simulate plans the same run and writes nothing.</Text>
          <Group>
            <Button onClick={() => full(false)} disabled={!isAdmin || !!a}>Full sync</Button>
            <Button variant="default" onClick={() => full(true)} disabled={!isAdmin || !!a}>Simulate</Button>
          </Group>
          {!isAdmin && <Text size="xs" c="dimmed" mt="xs">Read-only access: you can watch runs but not start them.</Text>}
        </Paper>
      </SimpleGrid>

      {a && p && (
        <Paper withBorder p="md" data-testid="live-progress">
          <Group justify="space-between"><Title order={5}>{a.kind === 'user' ? `Syncing ${a.userRef}` : a.kind === 'push' ? 'SCIM push running' : a.dryRun ? 'Simulation running' : a.kind === 'incremental' ? 'Incremental sync running' : 'Full sync running'}</Title><Badge>{p.phase}</Badge></Group>
          <Progress value={p.planned ? Math.min(100, ((p.written + p.failed) / Math.max(p.planned, 1)) * 100) : 5} animated mt="sm" />
          <Group mt="xs" gap="xl">
            <Text size="sm">Users read: <b>{p.read}</b></Text><Text size="sm">Planned: <b>{p.planned}</b></Text>
            <Text size="sm">Written: <b>{p.written}</b></Text><Text size="sm" c={p.failed ? 'red' : undefined}>Failed: <b>{p.failed}</b></Text>
          </Group>
        </Paper>
      )}
      {!a && activity.last && (
        <Alert color={activity.last.status === 'succeeded' ? 'green' : activity.last.status === 'partial' ? 'yellow' : 'red'} title={`Last run${lastRun?.id === activity.last.runId && lastRun?.kind === 'user' ? ` (user ${lastRun.userRef})` : ''}: ${activity.last.status}`} data-testid="last-run">
          {activity.last.error && <Text size="sm">{activity.last.error}</Text>}
          {lastRun && <Counts counts={lastRun.counts} />}
          {activity.last.runId && <Anchor href={`#/runs/${activity.last.runId}`} size="sm">Open the results</Anchor>}
        </Alert>
      )}
      {report && <UserReport result={report} />}
    </Stack>
  );
}

function UserReport({ result }: { result: any }) {
  const u = result.user;
  if (!u) return <Alert color="yellow">The run finished without a user report.</Alert>;
  return (
    <Paper withBorder p="md" data-testid="user-report">
      <Group justify="space-between" mb="sm">
        <Title order={5}>What happened</Title>
        {result.run && <Anchor href={`#/runs/${result.run.id}`} size="sm">Open this run</Anchor>}
      </Group>
      <Timeline active={u.found ? 3 : 0} bulletSize={18} lineWidth={2}>
        <Timeline.Item title="Found in source">
          {u.found ? <Text size="sm">{u.label} <Code>{u.sourceId}</Code></Text> : <Text size="sm" c="red">No user matches this reference in the identity provider.</Text>}
        </Timeline.Item>
        {u.found && (
          <Timeline.Item title="Mapped values">
            {Object.entries(u.mapped ?? {}).map(([target, values]: [string, any]) => (
              <Table key={target} fz="xs" withTableBorder mt={4}>
                <Table.Thead><Table.Tr><Table.Th colSpan={2}>{target}</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>{Object.entries(values).map(([f, v]) => <Table.Tr key={f}><Table.Td ff="monospace">{f}</Table.Td><Table.Td>{showMapped(v)}</Table.Td></Table.Tr>)}</Table.Tbody>
              </Table>
            ))}
          </Timeline.Item>
        )}
        {u.found && (
          <Timeline.Item title="Matched in target">
            {u.targets.map((t: any) => (
              <Text size="sm" key={t.targetId}>{t.targetId}: {t.match ?? (t.matched === 'none' ? 'no existing user' : `matched by ${t.matched}`)}{!t.match && t.targetKey ? <> (<Code>{t.targetKey}</Code>)</> : null}</Text>
            ))}
          </Timeline.Item>
        )}
        {u.found && (
          <Timeline.Item title="Changes made">
            {u.targets.map((t: any) => (
              <Stack key={t.targetId} gap={2}>
                <Text size="sm">{t.targetId}: <Badge size="sm" variant="light">{t.operation}</Badge></Text>
                {t.error && <Text size="sm" c="red">{t.error}</Text>}
                {t.changes.map((c: any) => <Text key={c.field} size="xs" ff="monospace">{c.field}: {showValue(c.before)} → {showValue(c.after)}</Text>)}
              </Stack>
            ))}
          </Timeline.Item>
        )}
      </Timeline>
    </Paper>
  );
}
