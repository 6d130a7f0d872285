// The Attribute Mapping table: one row per target field. Source offers the provider's attributes
// (or any path / JSONata expression); target offers what the target can write, a family such as
// property.<key> as its prefix to type the key after. Problems from the server appear under the
// row's field; Preview evaluates every row against one sample user from the source.
//
// Typing stays in the row: each row is memoised and keeps what is typed as a draft, handed to the
// connector once typing pauses or the field is left, so a keystroke renders one row and not the
// whole connector form (0.4 s per keystroke on a 30-row table before).
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ActionIcon, Alert, Autocomplete, Badge, Button, Code, Group, Select, Stack, Table, Text, TextInput, Tooltip, type ComboboxStringItem } from '@mantine/core';
import { ApiError, post, type Rule, type TargetType } from '../api';
import { showMapped } from '../values';
import { UserPicker } from './UserPicker';

export interface RowIssue {
  row: number;
  field: string;
  message: string;
  position?: number;
  severity?: 'error' | 'warning';
}

/** Updates the table's rules from their current value (so callers need no fresh copy of them). */
export type RulesUpdate = (update: (rules: Rule[]) => Rule[]) => void;

interface Props {
  connectorId?: string;
  targetId: string;
  target?: TargetType;
  sourceType: string;
  rules: Rule[];
  onChange: RulesUpdate;
  attributes: string[];
  /** Issues from the last save attempt. */
  saveIssues: RowIssue[];
  /** The rules as they were at that attempt: a row's issues stay with that row, not with its place. */
  savedRules?: Rule[];
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
/** How long typing may pause before the draft goes to the connector (leaving the field sends it at once). */
const COMMIT_AFTER_MS = 300;

const MONO = 'var(--mantine-font-family-monospace)';
/** Problems in readable type: the inputs are small monospace, their messages are not. */
const FIELD_STYLES = { input: { fontFamily: MONO }, error: { fontSize: 'var(--mantine-font-size-sm)', fontFamily: 'inherit' } };
const PLAIN_FIELD_STYLES = { error: FIELD_STYLES.error };

/** The message with its position, unless the message says where already. */
function describeIssue(i: RowIssue): string {
  return i.position !== undefined && !/\bat position \d+/.test(i.message) ? `${i.message} (at position ${i.position})` : i.message;
}

/** A field's problems as one text: the save's first, then the live check's that say something new. */
function errorText(issues: RowIssue[]): string | undefined {
  if (!issues.length) return undefined;
  return issues.map((i) => (i.severity === 'warning' ? `Warning: ${describeIssue(i)}` : describeIssue(i))).join('; ');
}

/**
 * Text typed into a field, kept here while typing and committed after a pause or on leaving the
 * field. Follows the value from outside (a save's answer) whenever nothing is waiting to be committed.
 */
function useDraft(value: string, commit: (v: string) => void) {
  const [draft, setDraft] = useState(value);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const latest = useRef(value);
  const commitRef = useRef(commit);
  commitRef.current = commit;
  useEffect(() => {
    if (!timer.current) {
      latest.current = value;
      setDraft(value);
    }
  }, [value]);
  useEffect(() => () => clearTimeout(timer.current), []);
  const flush = useCallback(() => {
    if (!timer.current) return;
    clearTimeout(timer.current);
    timer.current = undefined;
    commitRef.current(latest.current);
  }, []);
  const change = useCallback((v: string) => {
    latest.current = v;
    setDraft(v);
    clearTimeout(timer.current);
    timer.current = setTimeout(flush, COMMIT_AFTER_MS);
  }, [flush]);
  return { draft, change, flush };
}

const defaultText = (d: unknown) => (d === undefined ? '' : typeof d === 'string' ? d : JSON.stringify(d));

interface RowProps {
  row: number;
  rule: Rule;
  isLast: boolean;
  attributes: string[];
  targetOptions: ComboboxStringItem[];
  /** Family prefixes (`property.`): picking one asks for the key. */
  families: string[];
  saveIssues: RowIssue[];
  liveIssues: RowIssue[];
  preview: PreviewCell | undefined;
  readOnly: boolean;
  onUpdate: (row: number, patch: Partial<Rule>) => void;
  onMove: (row: number, by: number) => void;
  onRemove: (row: number) => void;
}

const sameIssues = (a: RowIssue[], b: RowIssue[]) => a.length === b.length && a.every((x, i) => x.field === b[i]!.field && x.message === b[i]!.message && x.position === b[i]!.position && x.severity === b[i]!.severity);

/** Renders again only when something of its own changed (issues compared by content). */
const MappingRow = memo(function MappingRow(p: RowProps) {
  const { row, rule, readOnly } = p;
  // How often this row rendered, for the browser test that typing renders one row only.
  const renders = useRef(0);
  renders.current++;
  const source = useDraft(rule.source, (v) => p.onUpdate(row, { source: v }));
  const target = useDraft(rule.target, (v) => p.onUpdate(row, { target: v }));
  const dflt = useDraft(defaultText(rule.default), (v) => p.onUpdate(row, { default: v === '' ? undefined : v }));
  // Fields left at least once. A fresh row's empty fields are not wrong yet: the live check
  // reports them only once the field has been left, or on Save.
  const [left, setLeft] = useState<Record<string, boolean>>({});
  const [targetFocused, setTargetFocused] = useState(false);
  const leave = (field: string, flush: () => void) => () => {
    flush();
    if (!left[field]) setLeft((l) => ({ ...l, [field]: true }));
  };
  const family = p.families.find((f) => target.draft === f);
  const shownLive = (field: string, draft: string) => p.liveIssues.filter((i) => {
    if (i.field !== field) return false;
    if (draft.trim() === '' && !left[field]) return false;
    // Just picked property.<key> and typing the key: not an error yet.
    if (field === 'target' && family && targetFocused) return false;
    return !p.saveIssues.some((s) => s.field === field && s.message === i.message);
  });
  const errorOf = (field: string, draft = 'x') => errorText([...p.saveIssues.filter((i) => i.field === field), ...shownLive(field, draft)]);
  const sourceError = errorOf('source', source.draft);
  const targetError = errorOf('target', target.draft);
  // The picker opens above a field that shows a problem, so it never covers the message.
  const above = { position: 'top' as const };

  return (
    <Table.Tr data-testid={`mapping-row-${row}`} data-renders={renders.current} style={{ verticalAlign: 'top' }}>
      <Table.Td><Text size="sm" c="dimmed">{row + 1}</Text></Table.Td>
      <Table.Td>
        <Autocomplete size="xs" aria-label={`Source of row ${row + 1}`} data={p.attributes} value={source.draft} onChange={source.change} onBlur={leave('source', source.flush)}
          onOptionSubmit={() => setTimeout(source.flush)} error={sourceError} disabled={readOnly} limit={50} styles={FIELD_STYLES} placeholder="e.g. mail"
          comboboxProps={sourceError ? above : undefined} />
      </Table.Td>
      <Table.Td>
        <Autocomplete size="xs" aria-label={`Target of row ${row + 1}`} data={p.targetOptions} value={target.draft} onChange={target.change}
          onFocus={() => setTargetFocused(true)}
          onBlur={() => { setTargetFocused(false); leave('target', target.flush)(); }}
          onOptionSubmit={() => setTimeout(target.flush)}
          renderOption={({ option }) => <Text size="xs" ff="monospace">{p.families.includes(option.value) ? `${option.value}<key>` : option.value}</Text>}
          description={family && targetFocused ? `Type the key after ${family}, e.g. ${family}costCenter` : undefined}
          inputWrapperOrder={['label', 'input', 'description', 'error']}
          error={targetError} disabled={readOnly} styles={FIELD_STYLES} placeholder="e.g. user.email or property.costCenter"
          comboboxProps={targetError ? above : undefined} />
      </Table.Td>
      <Table.Td miw={150}><Select size="xs" miw={140} aria-label={`Apply row ${row + 1}`} data={FLOW} value={rule.flow} onChange={(v) => p.onUpdate(row, { flow: (v ?? 'always') as Rule['flow'] })} disabled={readOnly} allowDeselect={false} error={errorOf('flow')} styles={PLAIN_FIELD_STYLES} /></Table.Td>
      <Table.Td miw={170}><Select size="xs" miw={160} aria-label={`When empty, row ${row + 1}`} data={WHEN_EMPTY} value={rule.whenEmpty} onChange={(v) => p.onUpdate(row, { whenEmpty: (v ?? 'keep') as Rule['whenEmpty'] })} disabled={readOnly} allowDeselect={false} error={errorOf('whenEmpty')} styles={PLAIN_FIELD_STYLES} /></Table.Td>
      <Table.Td miw={90}>
        <TextInput size="xs" aria-label={`Default of row ${row + 1}`} value={dflt.draft} onChange={(e) => dflt.change(e.currentTarget.value)} onBlur={leave('default', dflt.flush)} disabled={readOnly} error={errorOf('default')} styles={PLAIN_FIELD_STYLES} />
      </Table.Td>
      <Table.Td data-testid={`preview-${row}`} miw={160} style={{ overflowWrap: 'break-word' }}><PreviewValue cell={p.preview} /></Table.Td>
      {!readOnly && (
        <Table.Td>
          <Group gap={2} wrap="nowrap">
            <Tooltip label="Move up"><ActionIcon size="sm" variant="subtle" aria-label={`Move row ${row + 1} up`} disabled={row === 0} onClick={() => p.onMove(row, -1)}>↑</ActionIcon></Tooltip>
            <Tooltip label="Move down"><ActionIcon size="sm" variant="subtle" aria-label={`Move row ${row + 1} down`} disabled={p.isLast} onClick={() => p.onMove(row, 1)}>↓</ActionIcon></Tooltip>
            <Tooltip label="Delete row"><ActionIcon size="sm" variant="subtle" color="red" aria-label={`Delete row ${row + 1}`} onClick={() => p.onRemove(row)}>✕</ActionIcon></Tooltip>
          </Group>
        </Table.Td>
      )}
    </Table.Tr>
  );
}, (a, b) => {
  for (const k of Object.keys(a) as Array<keyof RowProps>) {
    if (k === 'saveIssues' || k === 'liveIssues') continue;
    if (a[k] !== b[k]) return false;
  }
  return sameIssues(a.saveIssues, b.saveIssues) && sameIssues(a.liveIssues, b.liveIssues);
});

function PreviewValue({ cell }: { cell: PreviewCell | undefined }) {
  if (!cell) return <Text size="xs" c="dimmed">not previewed</Text>;
  if (!cell.ok) return <Text size="xs" c="red">{cell.error}</Text>;
  if (cell.pending) return <Text size="xs" c="dimmed">resolved during the run</Text>;
  if (cell.value === undefined || cell.value === null) return <Text size="xs" c="dimmed">{showMapped(cell.value)}</Text>;
  return <Code fz="xs" data-testid="preview-value" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'break-word', wordBreak: 'break-word' }}>{showMapped(cell.value)}</Code>;
}

const NO_ISSUES: RowIssue[] = [];

/** Stable row keys: rows have no id of their own, and a row's draft must stay with it when rows move. */
function useRowKeys(count: number) {
  const next = useRef(0);
  const keys = useRef<number[]>([]);
  while (keys.current.length < count) keys.current.push(next.current++);
  if (keys.current.length > count) keys.current.length = count;
  return {
    keys: keys.current,
    move(row: number, by: number) {
      const [k] = keys.current.splice(row, 1);
      keys.current.splice(row + by, 0, k!);
    },
    remove(row: number) {
      keys.current.splice(row, 1);
    },
  };
}

export function MappingTable({ connectorId, targetId, target, sourceType, rules, onChange, attributes, saveIssues, savedRules, readOnly }: Props) {
  const [liveIssues, setLiveIssues] = useState<RowIssue[]>([]);
  const [preview, setPreview] = useState<{ user?: string; results: PreviewCell[]; error?: string }>();
  const [sampleRef, setSampleRef] = useState('');
  const [previewing, setPreviewing] = useState(false);
  const rulesKey = JSON.stringify(rules);
  const rowKeys = useRowKeys(rules.length);

  const { targetOptions, families } = useMemo(() => {
    const fields = target?.capabilities?.fields ?? [];
    return { targetOptions: fields.map((f) => ({ value: f.name })), families: fields.filter((f) => f.name.endsWith('.')).map((f) => f.name) };
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

  const byRow = (list: RowIssue[]) => {
    const m = new Map<number, RowIssue[]>();
    for (const i of list) m.set(i.row, [...(m.get(i.row) ?? []), i]);
    return m;
  };
  // A save's problems belong to the rows as they were then: once a row is edited, moved or
  // deleted, the live check speaks for it (a new row in a deleted one's place is not red).
  const saveByRow = useMemo(() => byRow(saveIssues.filter((i) => savedRules?.[i.row] !== undefined && savedRules[i.row] === rules[i.row])), [saveIssues, savedRules, rules]);
  const liveByRow = useMemo(() => byRow(liveIssues), [liveIssues]);

  const onUpdate = useCallback((row: number, patch: Partial<Rule>) => onChange((rs) => rs.map((r, i) => (i === row ? { ...r, ...patch } : r))), [onChange]);
  const onMove = useCallback((row: number, by: number) => {
    rowKeys.move(row, by);
    onChange((rs) => {
      const next = [...rs];
      const [r] = next.splice(row, 1);
      next.splice(row + by, 0, r!);
      return next;
    });
    setPreview(undefined);
  }, [onChange]); // eslint-disable-line react-hooks/exhaustive-deps
  const onRemove = useCallback((row: number) => {
    rowKeys.remove(row);
    onChange((rs) => rs.filter((_, i) => i !== row));
    setPreview(undefined);
  }, [onChange]); // eslint-disable-line react-hooks/exhaustive-deps
  const add = () => onChange((rs) => [...rs, { target: '', source: '', flow: 'always', whenEmpty: 'keep' }]);

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
      {/* Scrolls sideways rather than squeeze the choices and the preview on a narrow screen. */}
      <Table.ScrollContainer minWidth={1090} type="native">
      <Table withTableBorder withColumnBorders data-testid={`mapping-table-${targetId}`}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={36}>#</Table.Th>
            <Table.Th miw={200}>Source attribute or expression</Table.Th>
            <Table.Th miw={190}>Target field</Table.Th>
            <Table.Th miw={150}>Apply</Table.Th>
            <Table.Th miw={170}>When source is empty</Table.Th>
            <Table.Th miw={90}>Default</Table.Th>
            <Table.Th miw={160}>Preview</Table.Th>
            {!readOnly && <Table.Th w={90} />}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rules.length === 0 && (
            <Table.Tr><Table.Td colSpan={8}><Text size="sm" c="dimmed" ta="center" py="sm">No mapping rows: nothing would be written. Add a row for at least the user name.</Text></Table.Td></Table.Tr>
          )}
          {rules.map((r, row) => (
            <MappingRow
              key={rowKeys.keys[row]}
              row={row}
              rule={r}
              isLast={row === rules.length - 1}
              attributes={attributes}
              targetOptions={targetOptions}
              families={families}
              saveIssues={saveByRow.get(row) ?? NO_ISSUES}
              liveIssues={liveByRow.get(row) ?? NO_ISSUES}
              preview={preview?.results[row]}
              readOnly={readOnly}
              onUpdate={onUpdate}
              onMove={onMove}
              onRemove={onRemove}
            />
          ))}
        </Table.Tbody>
      </Table>
      </Table.ScrollContainer>
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
