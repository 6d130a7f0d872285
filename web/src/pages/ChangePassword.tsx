// "Change password" for whoever is logged in: the current password, the new one twice. The
// server ends the user's other sessions and keeps this one.
import { useState } from 'react';
import { Alert, Button, Group, Modal, PasswordInput, Stack } from '@mantine/core';
import { ApiError, post } from '../api';

export function ChangePassword({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [errors, setErrors] = useState<{ current?: string; next?: string; other?: string }>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);

  const close = () => {
    setCurrent('');
    setNext('');
    setRepeat('');
    setErrors({});
    setDone(false);
    onClose();
  };

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    if (next !== repeat) return setErrors({ next: 'the two new passwords differ' });
    setBusy(true);
    setErrors({});
    try {
      await post('/auth/password', { currentPassword: current, newPassword: next });
      setDone(true);
    } catch (err) {
      const issues = err instanceof ApiError ? err.issues : [];
      const at = (field: string) => issues.filter((i) => i.path[0] === field).map((i) => i.message).join('; ') || undefined;
      const placed = { current: at('currentPassword'), next: at('newPassword') };
      setErrors(placed.current || placed.next ? placed : { other: (err as Error).message });
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal opened={opened} onClose={close} title="Change your password">
      {done ? (
        <Stack>
          <Alert color="green" data-testid="password-changed">Password changed. Your other sessions have ended; this one goes on.</Alert>
          <Group justify="flex-end"><Button onClick={close}>Close</Button></Group>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            {errors.other && <Alert color="red">{errors.other}</Alert>}
            <PasswordInput label="Current password" value={current} onChange={(e) => setCurrent(e.currentTarget.value)} error={errors.current} autoComplete="current-password" required data-autofocus />
            <PasswordInput label="New password" value={next} onChange={(e) => setNext(e.currentTarget.value)} error={errors.next} autoComplete="new-password" required />
            <PasswordInput label="New password again" value={repeat} onChange={(e) => setRepeat(e.currentTarget.value)} autoComplete="new-password" required />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>Cancel</Button>
              <Button type="submit" loading={busy}>Change password</Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
