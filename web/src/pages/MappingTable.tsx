// The Attribute Mapping table: one row per target field. Source offers the provider's attributes
// (or any path / JSONata expression); target offers what the target can write plus
// property.<key>. Problems from the server appear under the row's field; Preview evaluates every
// row against one sample user from the source.
import { useEffect, useMemo, useRef, useState } from 'react';
import { ActionIcon, Alert, Autocomplete, Badge, Button, Code, Group, Select, Stack, Table, Text, TextInput, Tooltip } from '@mantine/core';
import { ApiError, post, type Rule, type TargetType } from '../api';
import { UserPicker } from './UserPicker';

export interface RowIssue {
  row: number;
  field: string;
  message: string;
  position?: number;
  severity?: 'error' | 'warning';
}

interface Props {
  connectorId?: string;
  targetId: string;
  target?: TargetType;
  sourceType: string;
  rules: Rule[];
  onChange: (rules: Rule[]) => void;
  attributes: string[];
  /** Issues from the last save attempt. */
  saveIssues: RowIssue[];
  readOnly: boolean;
}

type PreviewCell = { ok: boolean; value?: unknown; empty?: boolean; error?: string; pending?: boolean };

const FLOW = [
  { value: 'always', label: 'Always' },
  { value: 'onCreate', label: 'On create only' },
  { value: 'ifEmpty', label: 'If target empty' },
];
const WHEN_EMPTY = [
  { value: 'keep', label: 'Keep target value' },
  { value: 'clear', label: 'Clear target value' },
];

function describeIssue(i: RowIssue): string {
  return i.position !== undefined ? `${i.message} (at character ${i.position + 1})` : i.message;
}

export function MappingTable({ connectorId, targetId, target, sourceType, rules, onChange, attributes, saveIssues, readOnly }: Props) {
  const [liveIssues, setLiveIssues] = useState<RowIssue[]>([]);
  const [preview, setPreview] = useState<{ user?: string; results: PreviewCell[]; error?: string }>();
  const [sampleRef, setSampleRef] = useState('');
  const [previewing, setPreviewing] = useState(false);
  const rulesKey = JSON.stringify(rules);

  const targetOptions = useMemo(() => {
    const fields = target?.capabilities?.fields ?? [];
    return fields.map((f) => ({ value: f.name.endsWith('.') ? `${f.name}` : f.name, label: f.name.endsWith('.') ? `${f.name}<key>` : f.name }));
  }, [target]);

  // Check the table as it is edited, so problems show before Save.
  const seq = useRef(0);
  useEffect(() => {
    if (readOnly || !target?.available) return;
    const mine = ++seq.current;
    const timer = setTimeout(async () => {
      try {
        const res = await post('/mapping/validate', { targetType: target.type, sourceType, connectorId, rules });
        if (mine === seq.current) setLiveIssues(res.issues);
      } catch {
        /* the save will report it */
      }
    }, 400);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [rulesKey, target?.type, readOnly]);

  const issuesFor = (row: number, field: string) => {
    const fromSave = saveIssues.filter((i) => i.row === row && i.field === field);
    const live = liveIssues.filter((i) => i.row === row && i.field === field && !fromSave.some((s) => s.message === i.message));
    return [...fromSave, ...live];
  };
  const errorText = (row: number, field: string) => {
    const list = issuesFor(row, field);
    if (!list.length) return undefined;
    return list.map((i) => (i.severity === 'warning' ? `Warning: ${describeIssue(i)}` : describeIssue(i))).join('; ');
  };

  const update = (row: number, patch: Partial<Rule>) => onChange(rules.map((r, i) => (i === row ? { ...r, ...patch } : r)));
  const move = (row: number, by: number) => {
    const next = [...rules];
    const [r] = next.splice(row, 1);
    next.splice(row + by, 0, r!);
    onChange(next);
    setPreview(undefined);
  };
  const remove = (row: number) => {
    onChange(rules.filter((_, i) => i !== row));
    setPreview(undefined);
  };
  const add = () => onChange([...rules, { target: '', source: '', flow: 'always', whenEmpty: 'keep' }]);

  async function runPreview() {
    if (!connectorId) return;
    setPreviewing(true);
    try {
      const res = await post(`/connectors/${encodeURIComponent(connectorId)}/mapping/preview`, { targetId, targetType: target?.type, rules, ...(sampleRef.trim() ? { userRef: sampleRef.trim() } : {}) });
      setPreview({ user: res.user?.label, results: res.results });
    } catch (e) {
      setPreview({ results: [], error: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setPreviewing(false);
    }
  }

  const renderValue = (cell: PreviewCell | undefined) => {
    if (!cell) return <Text size="xs" c="dimmed">—</Text>;
    if (!cell.ok) return <Text size="xs" c="red">{cell.error}</Text>;
    if (cell.pending) return <Text size="xs" c="dimmed">resolved during the run</Text>;
    if (cell.value === undefined) return <Text size="xs" c="dimmed">(left unchanged)</Text>;
    if (cell.value === null) return <Text size="xs" c="dimmed">(cleared)</Text>;
    return <Code fz="xs" data-testid="preview-value">{typeof cell.value === 'string' ? cell.value : JSON.stringify(cell.value)}</Code>;
  };

  return (
    <Stack gap="xs">
      <Group justify="space-between" align="flex-end">
        <Text size="sm" c="dimmed">
          Each row writes one target field. Source: an attribute path such as <Code>department</Code> or <Code>manager.mail</Code>, or a JSONata expression such as <Code>$lowercase(mail)</Code>.
        </Text>
        {connectorId && (
          <Group gap="xs" align="flex-end" wrap="nowrap">
            <UserPicker connectorId={connectorId} size="xs" label="Preview with user" placeholder="first user, or a name / UPN / mail" value={sampleRef} onChange={setSampleRef} w={260} />
            <Button size="xs" variant="default" onClick={runPreview} loading={previewing}>Preview</Button>
          </Group>
        )}
      </Group>
      {!connectorId && <Text size="xs" c="dimmed">Save the connector once to preview rows against users from the source.</Text>}
      {preview?.error && <Alert color="red" p="xs">{preview.error}</Alert>}
      {preview?.user && <Text size="xs">Preview for <b>{preview.user}</b></Text>}
      <Table withTableBorder withColumnBorders data-testid={`mapping-table-${targetId}`}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={36}>#</Table.Th>
            <Table.Th miw={260}>Source attribute or expression</Table.Th>
            <Table.Th miw={220}>Target field</Table.Th>
            <Table.Th w={130}>Apply</Table.Th>
            <Table.Th w={160}>When source is empty</Table.Th>
            <Table.Th w={100}>Default</Table.Th>
            <Table.Th>Preview</Table.Th>
            {!readOnly && <Table.Th w={100} />}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rules.length === 0 && (
            <Table.Tr><Table.Td colSpan={8}><Text size="sm" c="dimmed" ta="center" py="sm">No mapping rows: nothing would be written. Add a row for at least the user name.</Text></Table.Td></Table.Tr>
          )}
          {rules.map((r, row) => (
            <Table.Tr key={row} data-testid={`mapping-row-${row}`} style={{ verticalAlign: 'top' }}>
              <Table.Td><Text size="sm" c="dimmed">{row + 1}</Text></Table.Td>
              <Table.Td>
                <Autocomplete size="xs" aria-label={`Source of row ${row + 1}`} data={attributes} value={r.source} onChange={(v) => update(row, { source: v })} error={errorText(row, 'source')} disabled={readOnly} limit={50} ff="monospace" placeholder="e.g. mail" />
              </Table.Td>
              <Table.Td>
                <Autocomplete size="xs" aria-label={`Target of row ${row + 1}`} data={targetOptions} value={r.target} onChange={(v) => update(row, { target: v })} error={errorText(row, 'target')} disabled={readOnly} ff="monospace" placeholder="e.g. user.email or property.costCenter" />
              </Table.Td>
              <Table.Td><Select size="xs" aria-label={`Apply row ${row + 1}`} data={FLOW} value={r.flow} onChange={(v) => update(row, { flow: (v ?? 'always') as Rule['flow'] })} disabled={readOnly} allowDeselect={false} error={errorText(row, 'flow')} /></Table.Td>
              <Table.Td><Select size="xs" aria-label={`When empty, row ${row + 1}`} data={WHEN_EMPTY} value={r.whenEmpty} onChange={(v) => update(row, { whenEmpty: (v ?? 'keep') as Rule['whenEmpty'] })} disabled={readOnly} allowDeselect={false} error={errorText(row, 'whenEmpty')} /></Table.Td>
              <Table.Td>
                <TextInput size="xs" aria-label={`Default of row ${row + 1}`} value={r.default === undefined ? '' : typeof r.default === 'string' ? r.default : JSON.stringify(r.default)} onChange={(e) => update(row, { default: e.currentTarget.value === '' ? undefined : e.currentTarget.value })} disabled={readOnly} error={errorText(row, 'default')} />
              </Table.Td>
              <Table.Td data-testid={`preview-${row}`}>{renderValue(preview?.results[row])}</Table.Td>
              {!readOnly && (
                <Table.Td>
                  <Group gap={2} wrap="nowrap">
                    <Tooltip label="Move up"><ActionIcon size="sm" variant="subtle" aria-label={`Move row ${row + 1} up`} disabled={row === 0} onClick={() => move(row, -1)}>↑</ActionIcon></Tooltip>
                    <Tooltip label="Move down"><ActionIcon size="sm" variant="subtle" aria-label={`Move row ${row + 1} down`} disabled={row === rules.length - 1} onClick={() => move(row, 1)}>↓</ActionIcon></Tooltip>
                    <Tooltip label="Delete row"><ActionIcon size="sm" variant="subtle" color="red" aria-label={`Delete row ${row + 1}`} onClick={() => remove(row)}>✕</ActionIcon></Tooltip>
                  </Group>
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Group justify="space-between">
        {!readOnly ? <Button size="xs" variant="default" onClick={add}>Add mapping row</Button> : <span />}
        {target?.capabilities?.unsupported?.length ? (
          <Text size="xs" c="dimmed">
            Not writable here: {target.capabilities.unsupported.map((u) => <Tooltip key={u.name} label={u.reason}><Badge size="xs" variant="outline" color="gray" mr={4} tt="none">{u.name}</Badge></Tooltip>)}
          </Text>
        ) : null}
      </Group>
    </Stack>
  );
}
