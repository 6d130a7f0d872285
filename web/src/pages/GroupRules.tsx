// The group rules editor of one target, beside its Attribute Mapping table: ordered
// include/exclude rows (a name, a glob or a regular expression, with an optional rename), what
// happens to groups no row matches, and the default groups every synced user gets. Preview shows,
// for a sample user, each group the rules receive, the row that decided it and the result.
// The semantics are the server's (src/mapping/group-rules.ts); this page only edits and shows.
import { useState } from 'react';
import { ActionIcon, Alert, Badge, Button, Code, Group, Select, Stack, Table, TagsInput, Text, TextInput } from '@mantine/core';
import { ApiError, post, type Issue, type Rule, type TargetType } from '../api';
import { UserPicker } from './UserPicker';

type Pattern = string | { regex: string };
type Rename = string | { expression: string };
interface GroupRule {
  include?: Pattern;
  exclude?: Pattern;
  rename?: Rename;
}
export interface GroupRulesValue {
  rules?: GroupRule[];
  dropUnmatched?: boolean;
  defaultGroups?: string[];
}

interface Decision {
  source?: string;
  rule?: number;
  outcome: 'included' | 'excluded' | 'kept' | 'dropped' | 'default' | 'failed';
  name?: string;
  error?: string;
}
interface Preview {
  user?: string;
  inputFrom?: 'source' | 'mapping';
  decisions: Decision[];
  groups?: string[];
  issues: Array<{ path: string; message: string; severity: string }>;
  errors: string[];
  error?: string;
}

interface Props {
  connectorId?: string;
  targetId: string;
  target?: TargetType;
  value: GroupRulesValue | undefined;
  /** The target's mapping as edited, for its `groups` row (the rules then receive its output). */
  mapping: Rule[];
  /** undefined removes the group rules (nothing set is the same as no rules). */
  onChange: (value: GroupRulesValue | undefined) => void;
  /** Problems from the last save, under this target's groupRules (paths relative to it). */
  saveIssues: Issue[];
  readOnly: boolean;
}

const OUTCOME: Record<Decision['outcome'], { label: string; color: string }> = {
  included: { label: 'included', color: 'green' },
  excluded: { label: 'excluded', color: 'red' },
  kept: { label: 'kept (no row matched)', color: 'teal' },
  dropped: { label: 'dropped (no row matched)', color: 'gray' },
  default: { label: 'default group', color: 'blue' },
  failed: { label: 'rename failed', color: 'red' },
};

const patternOf = (r: GroupRule): Pattern => r.include ?? r.exclude ?? '';
const patternText = (p: Pattern) => (typeof p === 'string' ? p : p.regex);
const renameText = (r: Rename | undefined) => (r === undefined ? '' : typeof r === 'string' ? r : r.expression);
const renameKind = (r: Rename | undefined) => (r === undefined ? 'none' : typeof r === 'string' ? 'template' : 'expression');

/** The value without what means nothing (no rows, no defaults, no choice): then no group rules at all. */
function normalised(v: GroupRulesValue): GroupRulesValue | undefined {
  const out: GroupRulesValue = { rules: v.rules ?? [], defaultGroups: v.defaultGroups ?? [] };
  if (v.dropUnmatched !== undefined) out.dropUnmatched = v.dropUnmatched;
  return out.rules!.length === 0 && out.defaultGroups!.length === 0 && out.dropUnmatched === undefined ? undefined : out;
}

export function GroupRules({ connectorId, targetId, target, value, mapping, onChange, saveIssues, readOnly }: Props) {
  const rules = value?.rules ?? [];
  const [sampleRef, setSampleRef] = useState('');
  const [preview, setPreview] = useState<Preview>();
  const [previewing, setPreviewing] = useState(false);
  const hasGroupsRow = mapping.some((r) => r.target === 'groups');
  const writesGroups = !target?.capabilities || target.capabilities.fields.some((f) => f.name === 'groups');

  const set = (patch: GroupRulesValue) => onChange(normalised({ ...(value ?? {}), ...patch }));
  const setRule = (n: number, rule: GroupRule) => set({ rules: rules.map((r, i) => (i === n ? rule : r)) });
  const move = (n: number, by: number) => {
    const next = [...rules];
    const [r] = next.splice(n, 1);
    next.splice(n + by, 0, r!);
    set({ rules: next });
  };

  /** A save problem or a preview problem at `rules[n]...`, placed by the server. */
  const problemAt = (n: number, part: 'pattern' | 'rename'): string | undefined => {
    const saved = saveIssues.filter((i) => i.path[0] === 'rules' && i.path[1] === n && (part === 'rename' ? i.path[2] === 'rename' : i.path[2] !== 'rename')).map((i) => i.message);
    const live = (preview?.issues ?? []).filter((i) => i.severity === 'error' && i.path.startsWith(`rules[${n}].`) && (part === 'rename') === i.path.startsWith(`rules[${n}].rename`)).map((i) => i.message);
    return [...new Set([...saved, ...live])].join('; ') || undefined;
  };
  const defaultsProblem = [...saveIssues.filter((i) => i.path[0] === 'defaultGroups').map((i) => i.message), ...(preview?.issues ?? []).filter((i) => i.path.startsWith('defaultGroups') && i.severity === 'error').map((i) => i.message)].join('; ') || undefined;
  const wholeProblems = saveIssues.filter((i) => i.path.length === 0 || (i.path[0] === 'rules' && i.path.length === 1)).map((i) => i.message);

  async function runPreview() {
    if (!connectorId) return;
    setPreviewing(true);
    try {
      const res = await post(`/connectors/${encodeURIComponent(connectorId)}/group-rules/preview`, {
        targetId,
        targetType: target?.type,
        groupRules: value ?? { rules: [] },
        rules: mapping,
        ...(sampleRef.trim() ? { userRef: sampleRef.trim() } : {}),
      });
      setPreview(res.preview ? { user: res.user?.label, ...res.preview } : { decisions: [], issues: [], errors: [], error: res.error });
    } catch (e) {
      setPreview({ decisions: [], issues: [], errors: [], error: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setPreviewing(false);
    }
  }

  if (!writesGroups) return <Text size="sm" c="dimmed">{target?.label ?? 'This target'} has no group memberships idsync can write.</Text>;

  return (
    <Stack gap="xs" data-testid={`group-rules-${targetId}`}>
      <Group justify="space-between" align="flex-end">
        <Text size="sm" c="dimmed" maw={760}>
          Each group the user has ({hasGroupsRow ? <>the output of the <Code>groups</Code> mapping row</> : 'from the source'}) is decided by the first row whose pattern matches, ignoring case: a name,
          a glob such as <Code>dept-*</Code>, or a regular expression. A rename may use <Code>$1</Code>… for what <Code>*</Code>, <Code>?</Code> or <Code>(…)</Code> matched. idsync removes only memberships it added.
        </Text>
        {connectorId && (
          <Group gap="xs" align="flex-end" wrap="nowrap">
            <UserPicker connectorId={connectorId} size="xs" label="Preview groups of user" placeholder="first user, or a name / UPN / mail" value={sampleRef} onChange={setSampleRef} w={260} />
            <Button size="xs" variant="default" onClick={runPreview} loading={previewing}>Preview groups</Button>
          </Group>
        )}
      </Group>
      {wholeProblems.map((m, n) => <Alert key={n} color="red" p="xs">{m}</Alert>)}
      <Table withTableBorder withColumnBorders>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={36}>#</Table.Th>
            <Table.Th w={120}>Action</Table.Th>
            <Table.Th w={170}>Match by</Table.Th>
            <Table.Th miw={200}>Pattern</Table.Th>
            <Table.Th w={150}>Rename</Table.Th>
            <Table.Th miw={200}>New name</Table.Th>
            {!readOnly && <Table.Th w={90} />}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rules.length === 0 && (
            <Table.Tr><Table.Td colSpan={7}><Text size="sm" c="dimmed" ta="center" py="xs">No group rules{hasGroupsRow ? ': the groups mapping row decides alone.' : '.'}</Text></Table.Td></Table.Tr>
          )}
          {rules.map((r, n) => {
            const action = r.exclude !== undefined ? 'exclude' : 'include';
            const pattern = patternOf(r);
            const regex = typeof pattern !== 'string';
            const withPattern = (p: Pattern): GroupRule => ({ [action]: p, ...(r.rename !== undefined && action === 'include' ? { rename: r.rename } : {}) });
            return (
              <Table.Tr key={n} data-testid={`group-rule-row-${n}`}>
                <Table.Td>{n + 1}</Table.Td>
                <Table.Td>
                  <Select size="xs" aria-label={`row ${n + 1} action`} data={[{ value: 'include', label: 'Include' }, { value: 'exclude', label: 'Exclude' }]} value={action} allowDeselect={false} disabled={readOnly}
                    onChange={(v) => v && setRule(n, v === 'exclude' ? { exclude: pattern } : { include: pattern, ...(r.rename !== undefined ? { rename: r.rename } : {}) })} />
                </Table.Td>
                <Table.Td>
                  <Select size="xs" aria-label={`row ${n + 1} match by`} data={[{ value: 'glob', label: 'Name or glob' }, { value: 'regex', label: 'Regular expression' }]} value={regex ? 'regex' : 'glob'} allowDeselect={false} disabled={readOnly}
                    onChange={(v) => v && setRule(n, withPattern(v === 'regex' ? { regex: patternText(pattern) } : patternText(pattern)))} />
                </Table.Td>
                <Table.Td>
                  <TextInput size="xs" aria-label={`row ${n + 1} pattern`} placeholder={regex ? '^team-(.+)$' : 'dept-*'} value={patternText(pattern)} disabled={readOnly} error={problemAt(n, 'pattern')}
                    styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
                    onChange={(e) => setRule(n, withPattern(regex ? { regex: e.currentTarget.value } : e.currentTarget.value))} />
                </Table.Td>
                <Table.Td>
                  <Select size="xs" aria-label={`row ${n + 1} rename`} disabled={readOnly || action === 'exclude'} allowDeselect={false}
                    data={[{ value: 'none', label: 'Keep the name' }, { value: 'template', label: 'Template' }, { value: 'expression', label: 'JSONata' }]}
                    value={action === 'exclude' ? 'none' : renameKind(r.rename)}
                    onChange={(v) => {
                      const text = renameText(r.rename);
                      setRule(n, { include: pattern, ...(v === 'template' ? { rename: text } : v === 'expression' ? { rename: { expression: text || 'name' } } : {}) });
                    }} />
                </Table.Td>
                <Table.Td>
                  {action === 'include' && r.rename !== undefined ? (
                    <TextInput size="xs" aria-label={`row ${n + 1} new name`} placeholder={typeof r.rename === 'string' ? 'jira-$1' : '$lowercase(name)'} value={renameText(r.rename)} disabled={readOnly} error={problemAt(n, 'rename')}
                      styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
                      onChange={(e) => setRule(n, { include: pattern, rename: typeof r.rename === 'string' ? e.currentTarget.value : { expression: e.currentTarget.value } })} />
                  ) : (
                    <Text size="xs" c="dimmed">{action === 'exclude' ? 'not synced' : 'as in the source'}</Text>
                  )}
                </Table.Td>
                {!readOnly && (
                  <Table.Td>
                    <Group gap={2} wrap="nowrap">
                      <ActionIcon size="sm" variant="subtle" aria-label={`move row ${n + 1} up`} disabled={n === 0} onClick={() => move(n, -1)}>↑</ActionIcon>
                      <ActionIcon size="sm" variant="subtle" aria-label={`move row ${n + 1} down`} disabled={n === rules.length - 1} onClick={() => move(n, 1)}>↓</ActionIcon>
                      <ActionIcon size="sm" variant="subtle" color="red" aria-label={`remove group rule ${n + 1}`} onClick={() => set({ rules: rules.filter((_, i) => i !== n) })}>✕</ActionIcon>
                    </Group>
                  </Table.Td>
                )}
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
      <Group align="flex-end" gap="md">
        {!readOnly && <Button size="xs" variant="default" onClick={() => set({ rules: [...rules, { include: '' }] })}>Add group rule</Button>}
        <Select size="xs" w={370} label="Groups no row matches" disabled={readOnly} allowDeselect={false}
          data={[
            { value: 'default', label: hasGroupsRow ? 'Default: kept (a groups mapping row chose them)' : 'Default: dropped' },
            { value: 'drop', label: 'Dropped' },
            { value: 'keep', label: 'Kept' },
          ]}
          value={value?.dropUnmatched === undefined ? 'default' : value.dropUnmatched ? 'drop' : 'keep'}
          onChange={(v) => {
            const { dropUnmatched: _old, ...rest } = value ?? {};
            onChange(normalised(v === 'default' ? rest : { ...rest, dropUnmatched: v === 'drop' }));
          }} />
        <TagsInput size="xs" miw={330} label="Default groups" description="Every synced user of this target gets these, e.g. jira-software-users" value={value?.defaultGroups ?? []} disabled={readOnly} error={defaultsProblem}
          onChange={(v) => set({ defaultGroups: v })} data-testid={`default-groups-${targetId}`} />
      </Group>
      {preview && <GroupPreview preview={preview} targetId={targetId} />}
    </Stack>
  );
}

function GroupPreview({ preview, targetId }: { preview: Preview; targetId: string }) {
  if (preview.error) return <Alert color="red" p="xs">{preview.error}</Alert>;
  return (
    <Stack gap={4} data-testid={`group-rules-preview-${targetId}`}>
      {preview.user && <Text size="xs">Groups of <b>{preview.user}</b>{preview.inputFrom === 'mapping' ? ' after the groups mapping row' : ' in the source'}:</Text>}
      {preview.errors.map((e, n) => <Alert key={n} color="red" p="xs">{e}</Alert>)}
      <Table fz="xs" withTableBorder>
        <Table.Thead>
          <Table.Tr><Table.Th>Group</Table.Th><Table.Th>Decided by</Table.Th><Table.Th>Outcome</Table.Th><Table.Th>In the target</Table.Th></Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {preview.decisions.length === 0 && <Table.Tr><Table.Td colSpan={4}><Text size="xs" c="dimmed">No groups.</Text></Table.Td></Table.Tr>}
          {preview.decisions.map((d, n) => (
            <Table.Tr key={n} data-testid="group-decision">
              <Table.Td>{d.source ?? '—'}</Table.Td>
              <Table.Td>{d.rule !== undefined ? `row ${d.rule + 1}` : d.outcome === 'default' ? 'default groups' : 'no row'}</Table.Td>
              <Table.Td><Badge size="xs" variant="light" color={OUTCOME[d.outcome].color}>{OUTCOME[d.outcome].label}</Badge>{d.error && <Text size="xs" c="red">{d.error}</Text>}</Table.Td>
              <Table.Td>{d.name ?? '—'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {preview.groups && (
        <Text size="xs" data-testid={`group-rules-result-${targetId}`}>
          Result: {preview.groups.length === 0 ? <i>no groups</i> : preview.groups.map((g) => <Badge key={g} size="xs" variant="outline" mr={4} tt="none">{g}</Badge>)}
        </Text>
      )}
    </Stack>
  );
}
