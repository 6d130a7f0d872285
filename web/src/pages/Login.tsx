import { useState } from 'react';
import { Alert, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { ApiError, post } from '../api';

/** Log-in, or on first start the creation of the first administrator. */
export function LoginPage({ setup, error, onDone }: { setup: boolean; error?: string; onDone: () => void }) {
  const [username, setUsername] = useState(setup ? 'admin' : '');
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<string | undefined>(error);
  const [busy, setBusy] = useState(false);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(undefined);
    try {
      await post(setup ? '/auth/setup' : '/auth/login', { username, password });
      onDone();
    } catch (err) {
      const issue = err instanceof ApiError ? err.issues.find((i) => i.path[0] === 'password') : undefined;
      setProblem(issue ? `Password: ${issue.message}` : (err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Center h="100vh" bg="gray.0">
      <Paper withBorder shadow="sm" p="xl" w={380}>
        <form onSubmit={submit}>
          <Stack>
            <Title order={3}>{setup ? 'Create the first administrator' : 'Log in to idsync'}</Title>
            {setup && <Text size="sm" c="dimmed">No account exists yet. The account you create here can add others later.</Text>}
            {problem && <Alert color="red" role="alert">{problem}</Alert>}
            <TextInput label="User name" value={username} onChange={(e) => setUsername(e.currentTarget.value)} required autoFocus={!setup} autoComplete="username" />
            <PasswordInput label="Password" description={setup ? 'At least 10 characters and hard to guess: a few unrelated words' : undefined} value={password} onChange={(e) => setPassword(e.currentTarget.value)} required autoFocus={setup} autoComplete={setup ? 'new-password' : 'current-password'} />
            <Button type="submit" loading={busy}>{setup ? 'Create and log in' : 'Log in'}</Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
