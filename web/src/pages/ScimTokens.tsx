// The bearer tokens of a SCIM connector (source type scim): the provisioning service in Entra ID
// or Okta sends one with every push. A new token is shown once, right after it is created,
// together with the Tenant URL to paste next to it; idsync keeps only its hash, so a reload
// cannot show it again. Revoking asks first: the provider's pushes fail (401) from then on.
import { useEffect, useState } from 'react';
import { Alert, Badge, Button, Code, CopyButton, Group, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { del, fmtTime, get, post } from '../api';

interface TokenInfo {
  id: string;
  label: string | null;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

function Copyable({ value, label }: { value: string; label: string }) {
  return (
    <Group gap="xs" wrap="nowrap">
      <Code data-testid={`scim-once-${label}`} style={{ wordBreak: 'break-all' }}>{value}</Code>
      <CopyButton value={value}>{({ copied, copy }) => <Button size="compact-xs" onClick={copy} aria-label={`Copy ${label}`}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
    </Group>
  );
}

export function ScimTokens({ connectorId, isAdmin }: { connectorId: string; isAdmin: boolean }) {
  const [tokens, setTokens] = useState<TokenInfo[]>();
  const [error, setError] = useState<string>();
  const [label, setLabel] = useState('');
  const [created, setCreated] = useState<{ token: string; tenantUrl: string }>();
  const [confirming, setConfirming] = useState<string>();
  const base = `/connectors/${encodeURIComponent(connectorId)}/scim-tokens`;

  const load = async () => {
    try {
      setTokens((await get(base)).tokens);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    if (isAdmin) void load();
  }, [connectorId, isAdmin]);

  const act = async (f: () => Promise<void>) => {
    setError(undefined);
    try {
      await f();
      await load();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <Paper withBorder p="md" data-testid="scim-tokens">
      <Title order={5} mb="xs">SCIM tokens</Title>
      <Text size="sm" c="dimmed" mb="sm">
        The identity provider pushes users and groups to idsync. In Entra ID (Enterprise application → Provisioning → Admin credentials) or Okta (the app's Provisioning → Integration), enter the Tenant URL (SCIM connector base URL) and a token created here as the Secret Token (API token).
      </Text>
      {!isAdmin ? (
        <Text size="sm" c="dimmed">Only an administrator can see and create SCIM tokens.</Text>
      ) : (
        <Stack gap="sm">
          {error && <Alert color="red" role="alert">{error}</Alert>}
          {created && (
            <Alert color="green" title="Copy the token now: it is not shown again" data-testid="scim-token-once" withCloseButton onClose={() => setCreated(undefined)}>
              <Stack gap={6}>
                <Text size="sm" fw={500}>Tenant URL</Text>
                <Copyable value={created.tenantUrl} label="Tenant URL" />
                <Text size="sm" fw={500}>Secret Token</Text>
                <Copyable value={created.token} label="token" />
              </Stack>
            </Alert>
          )}
          {tokens === undefined ? null : tokens.length === 0 ? (
            <Text size="sm" c="dimmed">No SCIM token yet: the provider cannot push until you create one.</Text>
          ) : (
            <Table withTableBorder data-testid="scim-token-list">
              <Table.Thead><Table.Tr><Table.Th>Label</Table.Th><Table.Th>Created</Table.Th><Table.Th>Last used</Table.Th><Table.Th>State</Table.Th><Table.Th /></Table.Tr></Table.Thead>
              <Table.Tbody>
                {tokens.map((t) => (
                  <Table.Tr key={t.id} data-token-id={t.id}>
                    <Table.Td>{t.label ?? <Text span c="dimmed" size="sm">(no label)</Text>}</Table.Td>
                    <Table.Td>{fmtTime(t.createdAt)}</Table.Td>
                    <Table.Td>{t.lastUsedAt ? fmtTime(t.lastUsedAt) : 'never'}</Table.Td>
                    <Table.Td>{t.revokedAt ? <Badge color="gray">revoked {fmtTime(t.revokedAt)}</Badge> : <Badge color="green" variant="light">active</Badge>}</Table.Td>
                    <Table.Td>
                      {!t.revokedAt && (confirming === t.id ? (
                        <Group gap="xs" wrap="nowrap">
                          <Text size="xs">The provider's pushes with it are refused from now on.</Text>
                          <Button size="compact-xs" color="red" onClick={() => act(async () => { await del(`${base}/${encodeURIComponent(t.id)}`); setConfirming(undefined); })}>Yes, revoke</Button>
                          <Button size="compact-xs" variant="default" onClick={() => setConfirming(undefined)}>Cancel</Button>
                        </Group>
                      ) : (
                        <Button size="compact-xs" color="red" variant="subtle" aria-label={`Revoke token ${t.label ?? t.id}`} onClick={() => setConfirming(t.id)}>Revoke</Button>
                      ))}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
          <Group align="flex-end">
            <TextInput label="Token label" placeholder="e.g. Entra ID provisioning" value={label} onChange={(e) => setLabel(e.currentTarget.value)} />
            <Button onClick={() => act(async () => {
              const r = await post(base, label.trim() ? { label: label.trim() } : {});
              setCreated({ token: r.token, tenantUrl: r.tenantUrl });
              setLabel('');
            })}>Create SCIM token</Button>
          </Group>
        </Stack>
      )}
    </Paper>
  );
}
