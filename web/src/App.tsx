// The shell: first-run set-up or log-in, then the admin pages with a side navigation.
import { useCallback, useEffect, useState } from 'react';
import { Alert, AppShell, Badge, Button, Center, Group, Loader, NavLink, Text, Title } from '@mantine/core';
import { get, post, type User } from './api';
import { go, useRoute } from './router';
import { LoginPage } from './pages/Login';
import { ConnectorList } from './pages/ConnectorList';
import { ConnectorEdit } from './pages/ConnectorEdit';
import { SyncPage } from './pages/SyncPage';
import { RunList } from './pages/RunList';
import { RunDetail } from './pages/RunDetail';
import { AccessPage } from './pages/Access';
import { ChangePassword } from './pages/ChangePassword';
import { QuarantineDetail, QuarantineList } from './pages/Quarantines';

export function App() {
  const [state, setState] = useState<{ loading: boolean; setupRequired: boolean; user: User | null; error?: string }>({ loading: true, setupRequired: false, user: null });
  const refresh = useCallback(async () => {
    try {
      const s = await get('/auth/status');
      setState({ loading: false, setupRequired: s.setupRequired, user: s.user });
    } catch (e) {
      setState({ loading: false, setupRequired: false, user: null, error: (e as Error).message });
    }
  }, []);
  useEffect(() => {
    void refresh();
    const onLogout = () => setState((s) => ({ ...s, user: null }));
    window.addEventListener('idsync:logged-out', onLogout);
    return () => window.removeEventListener('idsync:logged-out', onLogout);
  }, [refresh]);

  if (state.loading) return <Center h="100vh"><Loader /></Center>;
  if (!state.user) return <LoginPage setup={state.setupRequired} error={state.error} onDone={refresh} />;
  return <Shell user={state.user} onLogout={async () => { await post('/auth/logout').catch(() => {}); await refresh(); }} />;
}

function Shell({ user, onLogout }: { user: User; onLogout: () => void }) {
  const route = useRoute();
  const [section, id, sub] = route;
  const isAdmin = user.role === 'administrator';
  const [changingPassword, setChangingPassword] = useState(false);
  let page;
  if (section === 'connectors' && id === 'new') page = <ConnectorEdit key="new" isAdmin={isAdmin} />;
  else if (section === 'connectors' && id && sub === 'sync') page = <SyncPage id={id} isAdmin={isAdmin} />;
  else if (section === 'connectors' && id) page = <ConnectorEdit key={id} id={id} isAdmin={isAdmin} />;
  else if (section === 'runs' && id) page = <RunDetail id={id} />;
  else if (section === 'runs') page = <RunList />;
  else if (section === 'quarantines' && id) page = <QuarantineDetail key={id} id={id} />;
  else if (section === 'quarantines') page = <QuarantineList />;
  else if (section === 'access') page = <AccessPage isAdmin={isAdmin} me={user} />;
  else page = <ConnectorList isAdmin={isAdmin} />;

  return (
    <AppShell header={{ height: 48 }} navbar={{ width: 210, breakpoint: 'sm' }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="xs">
            <Title order={4}>idsync</Title>
            <Text c="dimmed" size="sm">identity sync administration</Text>
          </Group>
          <Group gap="xs">
            <Text size="sm">{user.username}</Text>
            <Badge variant="light" color={isAdmin ? 'blue' : 'gray'}>{user.role}</Badge>
            <Button size="xs" variant="subtle" onClick={() => setChangingPassword(true)}>Change password</Button>
            <Button size="xs" variant="subtle" onClick={onLogout}>Log out</Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs">
        <Text size="xs" c="dimmed" fw={700} tt="uppercase" px="sm" py={4}>Settings</Text>
        <NavLink label="Connectors" href="#/connectors" active={!section || section === 'connectors'} />
        <NavLink label="Results" href="#/runs" active={section === 'runs'} />
        {isAdmin && <NavLink label="Quarantine" href="#/quarantines" active={section === 'quarantines'} />}
        <NavLink label="Users and API tokens" href="#/access" active={section === 'access'} />
        {!isAdmin && <Alert mt="md" color="gray" p="xs"><Text size="xs">Read-only access: you can look at everything except secrets, and change nothing but your own password.</Text></Alert>}
      </AppShell.Navbar>
      <AppShell.Main>{page}</AppShell.Main>
      <ChangePassword opened={changingPassword} onClose={() => setChangingPassword(false)} />
    </AppShell>
  );
}

export { go };
