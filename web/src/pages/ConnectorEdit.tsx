// Edit connector: basic settings (secrets write-only), Test connection, and behind "Show Advanced
// Settings" the Attribute Mapping table and the group rules per target, required groups, filters
// and the schedule. Save sends the whole connector; the server refuses it with placed problems.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Alert, Anchor, Badge, Button, Collapse, Divider, Group, Loader, Paper, Select, SimpleGrid, Stack, Switch, Table, TagsInput, Text, TextInput, Title } from '@mantine/core';
import { ApiError, get, post, put, type Issue, type SourceType, type TargetType } from '../api';
import { go, useLeaveGuard } from '../router';
import { fmtTime, intervalProblem } from '../values';
import { AlternativesField, alternativesOf, SchemaField, SettingField, type Obj } from './fields';
import { MappingTable, type RowIssue, type RulesUpdate } from './MappingTable';
import { MatchingField } from './MatchingField';
import { GroupRules } from './GroupRules';
import { ScimTokens } from './ScimTokens';
import { CLEANUP_KEYS, CleanupSettings } from './CleanupSettings';

const SOURCE_BASE = new Set(['type', 'requiredGroups']);
const TARGET_BASE = new Set(['id', 'type', 'mapping', 'groupRules', 'createUsers', 'createMissingGroups', 'concurrency', 'matching', ...CLEANUP_KEYS]);
/** Settings shown under Advanced: filters and group handling. */
const isAdvancedKey = (k: string) => /filter|group|select|page|delta|scope/i.test(k);

const pathKey = (p: Array<string | number>) => p.join('.');

/**
 * Settings shown only when they matter with the rest of their section (by `type.key`); one that
 * holds a value is shown anyway, so nothing is saved that the form does not show.
 */
const SHOWN_WHEN: Record<string, (section: Obj) => boolean> = {
  // The administrator login for Confluence's profile form: with username-and-password auth that
  // login is used, and with profile fields off nothing needs it.
  'confluence-dc.formLogin': (t) => t.profileFields !== 'off' && t.auth?.type === 'pat',
};

/** A target switched to another product: the old product's settings mean nothing there (and the server refuses unknown ones). */
// accessGroups exists on the Cloud products only; cleanup applies to every target.
const retyped = (target: Obj, type: string): Obj => ({ ...Object.fromEntries(Object.entries(target).filter(([k]) => TARGET_BASE.has(k) && k !== 'accessGroups')), type });

/** The mapping a new connector of this source type starts with (the server's per-source defaults). */
const defaultMapping = (types: SourceType[], source: string): Obj[] => types.find((s) => s.type === source)?.defaultMapping ?? [];

function newConnector(types: SourceType[], source: string, target: string): Obj {
  return { id: '', name: '', source: { type: source, requiredGroups: [] }, targets: [{ id: target.split('-')[0], type: target, mapping: defaultMapping(types, source) }] };
}

/**
 * A new connector switched to another source type: a target whose mapping is still the old
 * type's default gets the new type's (Okta's login instead of Entra's userPrincipalName); a
 * mapping the administrator edited is kept as it is.
 */
function withSourceType(config: Obj, types: SourceType[], type: string): Obj {
  const before = JSON.stringify(defaultMapping(types, config.source.type));
  return {
    ...config,
    source: { ...config.source, type },
    targets: config.targets.map((t: Obj) => (JSON.stringify(t.mapping ?? []) === before ? { ...t, mapping: defaultMapping(types, type) } : t)),
  };
}

export function ConnectorEdit({ id, isAdmin }: { id?: string; isAdmin: boolean }) {
  const readOnly = !isAdmin;
  const [sourceTypes, setSourceTypes] = useState<SourceType[]>();
  const [targetTypes, setTargetTypes] = useState<TargetType[]>();
  const [config, setConfig] = useState<Obj>();
  const [revision, setRevision] = useState<number>();
  const [loadError, setLoadError] = useState<string>();
  const [issues, setIssues] = useState<Issue[]>([]);
  /** The connector as it was when the server placed `issues` (a row's problem is its own, not its index's). */
  const [issuesOf, setIssuesOf] = useState<Obj>();
  const [warnings, setWarnings] = useState<Issue[]>([]);
  const [message, setMessage] = useState<{ color: string; text: string }>();
  const [saving, setSaving] = useState(false);
  const [advanced, setAdvanced] = useState(false);
  const [attributes, setAttributes] = useState<string[]>([]);
  const [attrNote, setAttrNote] = useState<string>();
  const [test, setTest] = useState<any>();
  const [testing, setTesting] = useState(false);
  const [schedule, setSchedule] = useState<{ valid: boolean; text?: string; next: string[]; error?: string; field?: 'cron' | 'timezone' }>();
  // What was loaded or last saved, to tell unsaved changes.
  const [savedJson, setSavedJson] = useState<string>();
  const [saveAttempts, setSaveAttempts] = useState(0);

  const loaded = (c: Obj) => {
    setConfig(c);
    setSavedJson(JSON.stringify(c));
  };
  const dirty = !isAdmin || !config || savedJson === undefined ? false : JSON.stringify(config) !== savedJson;
  const leaving = useLeaveGuard(dirty ? 'This connector has unsaved changes. Leave the page and lose them?' : undefined);

  // One stable updater per target's mapping: a row that did not change then does not render again.
  const updaters = useRef(new Map<number, RulesUpdate>());
  const mappingUpdater = useCallback((i: number): RulesUpdate => {
    let u = updaters.current.get(i);
    if (!u) {
      u = (update) => setConfig((c) => c && { ...c, targets: c.targets.map((t: Obj, j: number) => (j === i ? { ...t, mapping: update(t.mapping ?? []) } : t)) });
      updaters.current.set(i, u);
    }
    return u;
  }, []);

  // After a refused save, bring the first problem into view (the page may be long and the
  // problem under Advanced Settings, now opened).
  useEffect(() => {
    if (saveAttempts === 0 || issues.length === 0) return;
    const t = setTimeout(() => document.querySelector('[aria-invalid="true"], [data-problem]')?.scrollIntoView({ block: 'center' }), 50);
    return () => clearTimeout(t);
  }, [saveAttempts, issues]);

  useEffect(() => {
    (async () => {
      try {
        const [s, t] = await Promise.all([get('/source-types'), get('/target-types')]);
        setSourceTypes(s.sourceTypes);
        setTargetTypes(t.targetTypes);
        if (id) {
          const c = await get(`/connectors/${encodeURIComponent(id)}`);
          loaded(c.config);
          setRevision(c.revision);
        } else {
          const src = s.sourceTypes.find((x: SourceType) => x.available)?.type ?? s.sourceTypes[0]?.type ?? 'entra';
          const tgt = t.targetTypes.find((x: TargetType) => x.available)?.type ?? 'jira-dc';
          loaded(newConnector(s.sourceTypes, src, tgt));
        }
      } catch (e) {
        setLoadError((e as Error).message);
      }
    })();
  }, [id]);

  // Attributes for the source picker: known ones at once, discovered ones when the provider answers.
  useEffect(() => {
    const known = sourceTypes?.find((s) => s.type === config?.source?.type)?.knownAttributes.map((a) => a.path) ?? [];
    setAttributes(known);
    if (!id) return;
    get(`/connectors/${encodeURIComponent(id)}/attributes`)
      .then((r) => {
        setAttributes(r.attributes.map((a: { path: string }) => a.path));
        setAttrNote(r.discovered ? undefined : r.error);
      })
      .catch((e) => setAttrNote(e.message));
  }, [id, sourceTypes, config?.source?.type]);

  const cron = config?.schedule?.cron;
  const tz = config?.schedule?.timezone ?? 'UTC';
  useEffect(() => {
    if (!cron) { setSchedule(undefined); return; }
    const t = setTimeout(() => get(`/schedule/describe?cron=${encodeURIComponent(cron)}&timezone=${encodeURIComponent(tz)}`).then(setSchedule).catch(() => {}), 300);
    return () => clearTimeout(t);
  }, [cron, tz]);

  const issueAt = (...path: Array<string | number>) => issues.filter((i) => pathKey(i.path) === pathKey(path)).map((i) => i.message).join('; ') || undefined;
  const otherIssues = useMemo(() => issues.filter((i) => i.path.length === 0), [issues]);
  /** A schedule field's problems: the save's and the live check's, each said once. */
  const scheduleError = (field: 'cron' | 'timezone' | 'incremental') => {
    const live = field === 'incremental' ? intervalProblem(incrementalText(config?.schedule?.incremental)) : schedule && !schedule.valid && schedule.field === field ? schedule.error : undefined;
    const list = [...issues.filter((i) => pathKey(i.path) === `schedule.${field}`).map((i) => i.message), ...(live ? [live] : [])];
    return [...new Set(list)].join('; ') || undefined;
  };

  if (loadError) return <Alert color="red" title="The connector cannot be shown">{loadError}</Alert>;
  if (!config || !sourceTypes || !targetTypes) return <Loader size="sm" />;

  const sourceType = sourceTypes.find((s) => s.type === config.source.type);
  const setSource = (patch: Obj) => setConfig({ ...config, source: { ...config.source, ...patch } });
  const setTarget = (i: number, patch: Obj) => setConfig({ ...config, targets: config.targets.map((t: Obj, j: number) => (j === i ? { ...t, ...patch } : t)) });

  async function save() {
    setSaving(true);
    setMessage(undefined);
    try {
      const res = id ? await put(`/connectors/${encodeURIComponent(id)}`, { config, revision }) : await post('/connectors', { config });
      setIssues([]);
      setWarnings(res.warnings ?? []);
      loaded(res.config);
      setRevision(res.revision);
      setMessage({ color: 'green', text: 'Saved.' });
      if (!id) {
        leaving.allowOnce();
        go(`/connectors/${res.config.id}`);
      }
    } catch (e) {
      const err = e as ApiError;
      setIssues(err.issues ?? []);
      setIssuesOf(config);
      setWarnings(err.body?.warnings ?? []);
      if (err.issues?.some((i) => ['mapping', 'groupRules', 'schedule', 'requiredGroups', ...CLEANUP_KEYS].includes(String(i.path[2] ?? i.path[0])) || i.path[0] === 'schedule')) setAdvanced(true);
      setMessage({ color: 'red', text: err.issues?.length ? `Not saved: ${err.message}. Each problem is shown next to its field.` : `Not saved: ${err.message}` });
      setSaveAttempts((n) => n + 1);
    } finally {
      setSaving(false);
    }
  }

  async function testConnection() {
    setTesting(true);
    setTest(undefined);
    try {
      setTest(await post(`/connectors/${encodeURIComponent(id!)}/test`));
    } catch (e) {
      setTest({ error: (e as Error).message });
    } finally {
      setTesting(false);
    }
  }

  const renderSettings = (section: Obj, schema: any, secretFields: string[], base: Set<string>, advancedOnly: boolean, onChange: (patch: Obj) => void, prefix: Array<string | number>) => {
    const props: Record<string, any> = schema?.properties ?? {};
    const required: string[] = schema?.required ?? [];
    const keys = Object.keys(props).filter((k) => !base.has(k) && isAdvancedKey(k) === advancedOnly);
    // Settings present in the config but unknown to the schema still show (e.g. type not loaded).
    if (!schema) keys.push(...Object.keys(section).filter((k) => !base.has(k) && isAdvancedKey(k) === advancedOnly));
    const shown = (k: string) => section[k] !== undefined || (SHOWN_WHEN[`${section.type}.${k}`]?.(section) ?? true);
    return keys.filter(shown).map((k) => {
      const group = alternativesOf(k, props);
      if (group) {
        // One choice for the whole group, where its first setting is.
        if (group.options[0]!.key !== k) return null;
        return <AlternativesField key={k} group={group} props={props} section={section} onChange={onChange} secretFields={secretFields} errorAt={(key, ...sub) => issueAt(...prefix, key, ...sub)} readOnly={readOnly} />;
      }
      return (
        <SettingField key={k} name={k} path={k} schema={props[k] ?? {}} value={section[k]} onChange={(v) => onChange({ [k]: v })} secretFields={secretFields} errorAt={(...sub) => issueAt(...prefix, k, ...sub)} readOnly={readOnly} required={required.includes(k)} />
      );
    });
  };

  return (
    <Stack maw={1400}>
      <Group justify="space-between">
        <div>
          <Anchor href="#/connectors" size="sm">← Connectors</Anchor>
          <Title order={3}>{id ? `${readOnly ? 'View' : 'Edit'} connector ${config.name || id}` : 'Add connector'}</Title>
        </div>
        <Group>
          {id && <Button variant="default" onClick={() => go(`/connectors/${id}/sync`)}>Sync…</Button>}
          {id && isAdmin && <Button variant="default" onClick={testConnection} loading={testing}>Test connection</Button>}
          {isAdmin && <Button onClick={save} loading={saving}>Save</Button>}
        </Group>
      </Group>
      {message && <Alert color={message.color} role="status" data-testid="save-message">{message.text}</Alert>}
      {otherIssues.map((i, n) => <Alert key={n} color="red">{i.message}</Alert>)}
      {warnings.length > 0 && <Alert color="yellow" title="Warnings">{warnings.map((w, n) => <Text key={n} size="sm">{pathKey(w.path)}: {w.message}</Text>)}</Alert>}
      {test && <TestReport report={test} />}

      <Paper withBorder p="md">
        <Title order={5} mb="sm">Basic settings</Title>
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <TextInput label="Name" value={config.name ?? ''} onChange={(e) => setConfig({ ...config, name: e.currentTarget.value })} disabled={readOnly} error={issueAt('name')} />
          <TextInput label="ID" description="Lower-case letters, digits and dashes; cannot change later" value={config.id} onChange={(e) => setConfig({ ...config, id: e.currentTarget.value })} disabled={readOnly || !!id} error={issueAt('id')} withAsterisk />
        </SimpleGrid>
        <Divider my="md" label={`Source: ${sourceType?.label ?? config.source.type}`} labelPosition="left" />
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <Select label="Identity provider" data={sourceTypes.map((s) => ({ value: s.type, label: s.label, disabled: !s.available }))} value={config.source.type} onChange={(v) => v && setConfig(withSourceType(config, sourceTypes, v))} disabled={readOnly || !!id} error={issueAt('source', 'type')} allowDeselect={false} />
          {renderSettings(config.source, sourceType?.configSchema, sourceType?.secretFields ?? [], SOURCE_BASE, false, setSource, ['source'])}
        </SimpleGrid>
        {config.targets.map((t: Obj, i: number) => {
          const tt = targetTypes.find((x) => x.type === t.type);
          return (
            <div key={i}>
              <Divider my="md" label={`Target ${t.id}: ${tt?.label ?? t.type}`} labelPosition="left" />
              <SimpleGrid cols={{ base: 1, md: 2 }}>
                <TextInput label="Target ID" value={t.id} onChange={(e) => setTarget(i, { id: e.currentTarget.value })} disabled={readOnly} error={issueAt('targets', i, 'id')} />
                <Select label="Product" data={targetTypes.map((x) => ({ value: x.type, label: x.label, disabled: !x.available }))} value={t.type} onChange={(v) => v && setConfig({ ...config, targets: config.targets.map((x: Obj, j: number) => (j === i ? retyped(x, v) : x)) })} disabled={readOnly} error={issueAt('targets', i, 'type')} allowDeselect={false} />
                {renderSettings(t, tt?.configSchema, tt?.secretFields ?? [], TARGET_BASE, false, (p) => setTarget(i, p), ['targets', i])}
              </SimpleGrid>
              {!readOnly && config.targets.length > 1 && <Button mt="xs" size="xs" color="red" variant="subtle" onClick={() => setConfig({ ...config, targets: config.targets.filter((_: Obj, j: number) => j !== i) })}>Remove target {t.id}</Button>}
            </div>
          );
        })}
        {!readOnly && (
          <Button mt="md" size="xs" variant="default" onClick={() => setConfig({ ...config, targets: [...config.targets, { id: `target-${config.targets.length + 1}`, type: targetTypes.find((x) => x.available)?.type ?? 'jira-dc', mapping: [] }] })}>
            Add target
          </Button>
        )}
      </Paper>

      {/* Tokens belong to a saved SCIM connector (the source type cannot change once saved). */}
      {id && config.source.type === 'scim' && <ScimTokens connectorId={id} isAdmin={isAdmin} />}

      <Button variant="subtle" onClick={() => setAdvanced((a) => !a)} aria-expanded={advanced} w="fit-content">
        {advanced ? 'Hide Advanced Settings' : 'Show Advanced Settings'}
      </Button>
      <Collapse in={advanced}>
        <Stack>
          <Paper withBorder p="md">
            <Title order={5} mb="sm">Scope</Title>
            <SimpleGrid cols={{ base: 1, md: 2 }}>
              <TagsInput label="Required groups" description="Only members of these groups are synced (display names); empty means everyone" value={config.source.requiredGroups ?? []} onChange={(v) => setSource({ requiredGroups: v })} disabled={readOnly} error={issueAt('source', 'requiredGroups')} />
              {renderSettings(config.source, sourceType?.configSchema, sourceType?.secretFields ?? [], SOURCE_BASE, true, setSource, ['source'])}
            </SimpleGrid>
          </Paper>
          {config.targets.map((t: Obj, i: number) => {
            const tt = targetTypes.find((x) => x.type === t.type);
            const rowIssues: RowIssue[] = issues
              .filter((x) => x.path[0] === 'targets' && x.path[1] === i && x.path[2] === 'mapping' && typeof x.path[3] === 'number')
              .map((x) => ({ row: x.path[3] as number, field: String(x.path[4] ?? 'source'), message: x.message, ...(x.position !== undefined ? { position: x.position } : {}) }));
            return (
              <Paper withBorder p="md" key={i}>
                <Group justify="space-between" mb="sm">
                  <Title order={5}>Attribute Mapping — {t.id} ({tt?.label ?? t.type})</Title>
                  {attrNote && <Text size="xs" c="orange">{attrNote}</Text>}
                </Group>
                <MappingTable
                  connectorId={id}
                  targetId={t.id}
                  target={tt}
                  sourceType={config.source.type}
                  rules={t.mapping ?? []}
                  onChange={mappingUpdater(i)}
                  attributes={attributes}
                  saveIssues={rowIssues}
                  savedRules={issuesOf?.targets?.[i]?.mapping}
                  readOnly={readOnly}
                />
                <Divider my="md" label={`Group rules — ${t.id}`} labelPosition="left" />
                <GroupRules
                  connectorId={id}
                  targetId={t.id}
                  target={tt}
                  value={t.groupRules}
                  mapping={t.mapping ?? []}
                  onChange={(groupRules) => setConfig((c) => c && { ...c, targets: c.targets.map((x: Obj, j: number) => (j === i ? withGroupRules(x, groupRules) : x)) })}
                  saveIssues={issues.filter((x) => x.path[0] === 'targets' && x.path[1] === i && x.path[2] === 'groupRules').map((x) => ({ ...x, path: x.path.slice(3) }))}
                  readOnly={readOnly}
                />
                <Divider my="md" label="Writing" labelPosition="left" />
                <SimpleGrid cols={{ base: 1, md: 3 }}>
                  <Switch label="Create users missing in the target" checked={t.createUsers ?? true} onChange={(e) => setTarget(i, { createUsers: e.currentTarget.checked })} disabled={readOnly} />
                  <Switch label="Create groups the mapping names but the target lacks" checked={t.createMissingGroups ?? false} onChange={(e) => setTarget(i, { createMissingGroups: e.currentTarget.checked })} disabled={readOnly} />
                  <SchemaField name="concurrency" schema={{ type: 'integer', title: 'Parallel write requests', default: 8 }} value={t.concurrency} onChange={(v) => setTarget(i, { concurrency: v })} readOnly={readOnly} error={issueAt('targets', i, 'concurrency')} />
                  <MatchingField value={t.matching} onChange={(v) => setTarget(i, { matching: v })} readOnly={readOnly} error={issues.filter((x) => pathKey(x.path).startsWith(`targets.${i}.matching`)).map((x) => x.message).join('; ') || undefined} />
                  {renderSettings(t, tt?.configSchema, tt?.secretFields ?? [], TARGET_BASE, true, (p) => setTarget(i, p), ['targets', i])}
                </SimpleGrid>
                <CleanupSettings target={t} schema={tt?.configSchema} onChange={(p) => setTarget(i, p)} errorAt={(...sub) => issueAt('targets', i, ...sub)} readOnly={readOnly} />
              </Paper>
            );
          })}
          <Paper withBorder p="md">
            <Title order={5} mb="sm">Schedule</Title>
            <SimpleGrid cols={{ base: 1, md: 4 }}>
              <Switch label="Run a full sync on a schedule" checked={!!config.schedule && config.schedule.enabled !== false} disabled={readOnly}
                onChange={(e) => setConfig({ ...config, schedule: e.currentTarget.checked ? { cron: config.schedule?.cron ?? '0 2 * * *', timezone: config.schedule?.timezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone, enabled: true } : config.schedule ? { ...config.schedule, enabled: false } : undefined })} />
              <TextInput label="Cron expression" description="minute hour day-of-month month day-of-week" styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }} value={config.schedule?.cron ?? ''} disabled={readOnly || !config.schedule} error={scheduleError('cron')}
                onChange={(e) => setConfig({ ...config, schedule: { ...config.schedule, cron: e.currentTarget.value } })} />
              <TextInput label="Time zone" description="IANA name, e.g. Europe/Berlin" value={config.schedule?.timezone ?? ''} disabled={readOnly || !config.schedule} error={scheduleError('timezone')}
                onChange={(e) => setConfig({ ...config, schedule: { ...config.schedule, timezone: e.currentTarget.value } })} />
              <TextInput label="Incremental sync every" description="what changed since the last read: 30s, 1m, 15m, 1h, or off" placeholder="1m" value={incrementalText(config.schedule?.incremental)} disabled={readOnly || !config.schedule} error={scheduleError('incremental')}
                styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
                onChange={(e) => setConfig({ ...config, schedule: withIncremental(config.schedule, e.currentTarget.value) })} />
            </SimpleGrid>
            {schedule?.valid && (
              <Stack gap={2} mt="sm" data-testid="schedule-description">
                <Text size="sm">{schedule.text}</Text>
                <Text size="xs" c="dimmed">Next runs: {schedule.next.map((n) => fmtTime(n)).join(' · ')}</Text>
              </Stack>
            )}
          </Paper>
        </Stack>
      </Collapse>
    </Stack>
  );
}

/** A target with its group rules set, or without the key when there are none. */
function withGroupRules(target: Obj, groupRules: Obj | undefined): Obj {
  const { groupRules: _old, ...rest } = target;
  return groupRules ? { ...rest, groupRules } : rest;
}

/** The schedule's incremental interval as the field shows it: false is "off", unset is empty (1m). */
const incrementalText = (v: unknown): string => (v === false ? 'off' : typeof v === 'string' ? v : '');

/** The schedule with the interval as typed: "off" is false, empty leaves the default (1m). */
function withIncremental(schedule: Obj | undefined, text: string): Obj {
  const { incremental: _old, ...rest } = schedule ?? {};
  const t = text.trim();
  return t === '' ? rest : { ...rest, incremental: t === 'off' ? false : t };
}

function TestReport({ report }: { report: any }) {
  if (report.error) return <Alert color="red" title="Test connection failed">{report.error}</Alert>;
  const sections: Array<[string, any]> = [['Source', report.source], ...Object.entries(report.targets ?? {}).map(([k, v]) => [`Target ${k}`, v] as [string, any])];
  return (
    <Alert color={report.ok ? 'green' : 'red'} title={report.ok ? 'Both ends answer' : 'Something failed; see the checks'} data-testid="test-report">
      <Table fz="sm">
        <Table.Tbody>
          {sections.flatMap(([name, r]) => (r?.checks ?? []).map((c: any, n: number) => (
            <Table.Tr key={`${name}-${n}`}>
              <Table.Td>{name}</Table.Td>
              <Table.Td>{c.name}</Table.Td>
              <Table.Td><Badge color={c.ok ? 'green' : 'red'} variant="light">{c.ok ? 'ok' : 'failed'}</Badge></Table.Td>
              <Table.Td>{c.message}</Table.Td>
            </Table.Tr>
          )))}
        </Table.Tbody>
      </Table>
    </Alert>
  );
}
