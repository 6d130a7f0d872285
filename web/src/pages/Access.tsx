// Users and API tokens. A new token's value is shown once, right after it is created.
import { useEffect, useState } from 'react';
import { Alert, Badge, Button, Code, CopyButton, Group, Paper, PasswordInput, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { del, fmtTime, get, post, type User } from '../api';

export function AccessPage({ isAdmin, me }: { isAdmin: boolean; me: User }) {
  const [users, setUsers] = useState<any[]>([]);
  const [tokens, setTokens] = useState<any[]>([]);
  const [error, setError] = useState<string>();
  const [newUser, setNewUser] = useState({ username: '', password: '', role: 'viewer' });
  const [newToken, setNewToken] = useState({ name: '', role: 'viewer' });
  const [shownOnce, setShownOnce] = useState<string>();

  const load = async () => {
    try {
      setUsers((await get('/users')).users);
      setTokens((await get('/tokens')).tokens);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => void load(), []);
  const act = async (f: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await f();
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <Stack maw={1100}>
      <Title order={3}>Users and API tokens</Title>
      {error && <Alert color="red" role="alert">{error}</Alert>}
      <Paper withBorder p="md">
        <Title order={5} mb="sm">Users</Title>
        <Table withTableBorder>
          <Table.Thead><Table.Tr><Table.Th>User name</Table.Th><Table.Th>Role</Table.Th><Table.Th>Created</Table.Th><Table.Th /></Table.Tr></Table.Thead>
          <Table.Tbody>
            {users.map((u) => (
              <Table.Tr key={u.id}>
                <Table.Td>{u.username}{u.id === me.id && <Text span c="dimmed" size="xs"> (you)</Text>}</Table.Td>
                <Table.Td><Badge variant="light" color={u.role === 'administrator' ? 'blue' : 'gray'}>{u.role}</Badge></Table.Td>
                <Table.Td>{fmtTime(u.createdAt)}</Table.Td>
                <Table.Td>{isAdmin && u.id !== me.id && <Button size="compact-xs" color="red" variant="subtle" onClick={() => act(() => del(`/users/${u.id}`))}>Remove</Button>}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {isAdmin && (
          <Group mt="sm" align="flex-end">
            <TextInput label="User name" value={newUser.username} onChange={(e) => setNewUser({ ...newUser, username: e.currentTarget.value })} />
            <PasswordInput label="Password" description="At least 10 characters and hard to guess: a few unrelated words" value={newUser.password} onChange={(e) => setNewUser({ ...newUser, password: e.currentTarget.value })} autoComplete="new-password" />
            <Select label="Role" data={['viewer', 'administrator']} value={newUser.role} onChange={(v) => setNewUser({ ...newUser, role: v ?? 'viewer' })} allowDeselect={false} w={150} />
            <Button onClick={() => act(async () => { await post('/users', newUser); setNewUser({ username: '', password: '', role: 'viewer' }); })}>Add user</Button>
          </Group>
        )}
      </Paper>
      <Paper withBorder p="md">
        <Title order={5} mb="sm">API tokens</Title>
        <Text size="sm" c="dimmed" mb="sm">For scripts: send <Code>Authorization: Bearer &lt;token&gt;</Code>. The API is described at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</Text>
        {shownOnce && (
          <Alert color="green" title="Copy the token now: it is not shown again" mb="sm" data-testid="token-once">
            <Group><Code>{shownOnce}</Code><CopyButton value={shownOnce}>{({ copied, copy }) => <Button size="compact-xs" onClick={copy}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton></Group>
          </Alert>
        )}
        {tokens.length === 0 ? <Text size="sm" c="dimmed">No API token yet.</Text> : (
          <Table withTableBorder>
            <Table.Thead><Table.Tr><Table.Th>Name</Table.Th><Table.Th>Role</Table.Th><Table.Th>Created</Table.Th><Table.Th>Last used</Table.Th><Table.Th>State</Table.Th><Table.Th /></Table.Tr></Table.Thead>
            <Table.Tbody>
              {tokens.map((t) => (
                <Table.Tr key={t.id}>
                  <Table.Td>{t.name}</Table.Td><Table.Td>{t.role}</Table.Td><Table.Td>{fmtTime(t.createdAt)}</Table.Td><Table.Td>{fmtTime(t.lastUsedAt)}</Table.Td>
                  <Table.Td>{t.revokedAt ? <Badge color="gray">revoked</Badge> : <Badge color="green" variant="light">active</Badge>}</Table.Td>
                  <Table.Td>{isAdmin && !t.revokedAt && <Button size="compact-xs" color="red" variant="subtle" onClick={() => act(() => del(`/tokens/${t.id}`))}>Revoke</Button>}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {isAdmin && (
          <Group mt="sm" align="flex-end">
            <TextInput label="Token name" placeholder="e.g. nightly report script" value={newToken.name} onChange={(e) => setNewToken({ ...newToken, name: e.currentTarget.value })} />
            <Select label="Role" data={['viewer', 'administrator']} value={newToken.role} onChange={(v) => setNewToken({ ...newToken, role: v ?? 'viewer' })} allowDeselect={false} w={150} />
            <Button onClick={() => act(async () => { const r = await post('/tokens', newToken); setShownOnce(r.secret); setNewToken({ name: '', role: 'viewer' }); })}>Create token</Button>
          </Group>
        )}
      </Paper>
    </Stack>
  );
}
