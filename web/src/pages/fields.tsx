// Form fields generated from a connector type's settings schema (JSON Schema from zod), plus the
// write-only secret field: a stored secret shows as "set" with a Replace button, never its value.
import { Fragment, useEffect, useState } from 'react';
import { Badge, Button, Group, NumberInput, PasswordInput, Select, Switch, TagsInput, Text, Textarea, TextInput } from '@mantine/core';

export type Obj = Record<string, any>;

export function labelFor(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[._-]+/g, ' ');
  // Capitalise first, then fix the acronyms: replacing only after the first letter left a
  // leading "url" as "Url".
  return (words.charAt(0).toUpperCase() + words.slice(1)).replace(/\bUrl\b/gi, 'URL').replace(/\bId\b/g, 'ID');
}

export function SecretField({ label, value, onChange, error, readOnly }: { label: string; value: any; onChange: (v: any) => void; error?: string; readOnly?: boolean }) {
  const [replacing, setReplacing] = useState(false);
  const isSet = value && typeof value === 'object' && value.set === true;
  // Back to "set" when a save answers with the stored secret (or the new value is erased):
  // otherwise the field stayed an empty "replaces the stored one" box after saving.
  useEffect(() => {
    if (isSet) setReplacing(false);
  }, [value]);
  const env = value && typeof value === 'object' && typeof value.env === 'string' ? value.env : undefined;
  const file = value && typeof value === 'object' && typeof value.file === 'string' ? value.file : undefined;
  if ((isSet || env || file) && !replacing) {
    return (
      <div>
        <Text size="sm" fw={500}>{label}</Text>
        <Group gap="xs" mt={4}>
          <Badge color="green" variant="light" data-testid={`secret-set-${label}`}>{isSet ? 'set' : env ? `from environment variable ${env}` : `from file ${file}`}</Badge>
          {/* Named after its secret: a form has several, and "Replace" alone does not say which. */}
          {!readOnly && <Button size="compact-xs" variant="default" aria-label={`Replace ${label}`} onClick={() => setReplacing(true)}>Replace</Button>}
        </Group>
        {error && <Text size="xs" c="red" mt={4}>{error}</Text>}
      </div>
    );
  }
  if (readOnly) return <div><Text size="sm" fw={500}>{label}</Text><Text size="sm" c="dimmed">not set</Text></div>;
  return (
    <PasswordInput
      label={label}
      description={replacing ? 'The new value replaces the stored one when you save' : 'Stored encrypted; it is never shown again'}
      placeholder={isSet ? 'enter the new value' : 'enter the secret'}
      value={value && typeof value === 'object' && typeof value.replace === 'string' ? value.replace : ''}
      onChange={(e) => onChange(e.currentTarget.value ? { replace: e.currentTarget.value } : isSet ? { set: true } : undefined)}
      error={error}
      autoComplete="new-password"
    />
  );
}

interface FieldProps {
  name: string;
  schema: any;
  value: any;
  onChange: (v: any) => void;
  error?: string;
  readOnly?: boolean;
  required?: boolean;
}

function unwrap(schema: any): any {
  if (schema?.anyOf) return schema.anyOf.find((s: any) => s.type !== 'null') ?? schema.anyOf[0];
  return schema ?? {};
}

/** One setting, rendered by its JSON Schema type. */
export function SchemaField({ name, schema: raw, value, onChange, error, readOnly, required }: FieldProps) {
  const schema = unwrap(raw);
  const label = schema.title ?? labelFor(name);
  const description = schema.description;
  if (schema.enum) {
    return <Select label={label} description={description} data={schema.enum.map(String)} value={value ?? null} onChange={(v) => onChange(v ?? undefined)} error={error} disabled={readOnly} clearable={!required} />;
  }
  if (schema.type === 'boolean') {
    return <Switch label={label} description={description} checked={!!(value ?? schema.default)} onChange={(e) => onChange(e.currentTarget.checked)} error={error} disabled={readOnly} />;
  }
  if (schema.type === 'number' || schema.type === 'integer') {
    return <NumberInput label={label} description={description} value={value ?? ''} onChange={(v) => onChange(v === '' ? undefined : Number(v))} error={error} disabled={readOnly} placeholder={schema.default !== undefined ? String(schema.default) : undefined} />;
  }
  if (schema.type === 'array' && unwrap(schema.items).type === 'string') {
    return <TagsInput label={label} description={description ?? 'Press Enter after each value'} value={value ?? []} onChange={onChange} error={error} disabled={readOnly} />;
  }
  if (schema.type === 'string') {
    return <TextInput label={label} description={description} value={value ?? ''} onChange={(e) => onChange(e.currentTarget.value === '' ? undefined : e.currentTarget.value)} error={error} disabled={readOnly} withAsterisk={required} placeholder={schema.default !== undefined ? String(schema.default) : undefined} />;
  }
  return <JsonField label={label} description={description} value={value} onChange={onChange} error={error} readOnly={readOnly} />;
}

/** Settings with no simple form (objects, mixed lists) are edited as JSON. */
export function JsonField({ label, description, value, onChange, error, readOnly }: { label: string; description?: string; value: any; onChange: (v: any) => void; error?: string; readOnly?: boolean }) {
  const [text, setText] = useState(value === undefined ? '' : JSON.stringify(value, null, 2));
  const [bad, setBad] = useState<string>();
  // Follow the value when it changes from outside: a save answers with stored secrets as
  // {"set": true}, and without this a secret typed here as {"replace": "..."} stayed on screen
  // (and was sent again with the next save).
  useEffect(() => {
    let shown: unknown;
    try {
      shown = text.trim() ? JSON.parse(text) : undefined;
    } catch {
      return; // the person is still typing
    }
    if (JSON.stringify(shown) !== JSON.stringify(value)) {
      setText(value === undefined ? '' : JSON.stringify(value, null, 2));
      setBad(undefined);
    }
  }, [value]);
  return (
    <Textarea
      label={label}
      description={description ?? 'JSON'}
      autosize
      minRows={2}
      ff="monospace"
      value={text}
      disabled={readOnly}
      error={bad ?? error}
      onChange={(e) => {
        const t = e.currentTarget.value;
        setText(t);
        if (!t.trim()) { setBad(undefined); onChange(undefined); return; }
        try { onChange(JSON.parse(t)); setBad(undefined); } catch { setBad('not valid JSON yet'); }
      }}
    />
  );
}

/** Names for the kinds of a `type`-discriminated setting (e.g. auth); unknown kinds show as they are. */
const KIND_LABELS: Record<string, string> = { pat: 'Personal access token', basic: 'Username and password' };

/** The variants of a setting that is one of several objects told apart by a `type` constant, else undefined. */
export function variantsOf(raw: any): any[] | undefined {
  const list = raw?.oneOf ?? raw?.anyOf;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.every((v) => v?.type === 'object' && v.properties?.type?.const !== undefined) ? list : undefined;
}

/**
 * A setting that is one of several shapes told apart by `type`, such as a Data Center target's
 * auth (personal access token | username and password): a picker for the kind, then that kind's
 * own fields, its secrets write-only like any other. Before, such a setting was a JSON box, so an
 * administrator had to type {"type":"pat","token":{"replace":"..."}} and the token stayed visible.
 * Renders several grid cells (a fragment) so the fields line up with the others.
 */
export function VariantField({ name, schema, value, onChange, secretFields, errorAt, readOnly }: {
  name: string;
  schema: any;
  value: any;
  onChange: (v: any) => void;
  /** Secret settings of the connector type, as dotted paths (auth.token). */
  secretFields: string[];
  /** The save problem at a path below this setting ([] for the setting itself). */
  errorAt: (...sub: string[]) => string | undefined;
  readOnly?: boolean;
}) {
  const variants = variantsOf(schema)!;
  const label = schema.title ?? labelFor(name);
  const current = value && typeof value === 'object' ? value : undefined;
  const variant = variants.find((v) => v.properties.type.const === current?.type);
  const keys = variant ? Object.keys(variant.properties).filter((k) => k !== 'type') : [];
  const required: string[] = variant?.required ?? [];
  // A problem with the setting as a whole (no kind chosen) or with its kind goes under the picker.
  const pickerError = [errorAt(), errorAt('type')].filter(Boolean).join('; ') || undefined;
  return (
    <Fragment>
      <Select
        label={label}
        placeholder="Choose how idsync signs in"
        data={variants.map((v) => ({ value: String(v.properties.type.const), label: KIND_LABELS[v.properties.type.const] ?? String(v.properties.type.const) }))}
        value={current?.type ?? null}
        onChange={(t) => onChange(t ? { type: t } : undefined)}
        error={pickerError}
        disabled={readOnly}
        allowDeselect={false}
        withAsterisk
      />
      {keys.map((k) =>
        secretFields.includes(`${name}.${k}`) ? (
          <SecretField key={`${current?.type}-${k}`} label={variant.properties[k]?.title ?? labelFor(k)} value={current?.[k]} onChange={(v) => onChange({ ...current, [k]: v })} error={errorAt(k)} readOnly={readOnly} />
        ) : (
          <SchemaField key={`${current?.type}-${k}`} name={k} schema={variant.properties[k] ?? {}} value={current?.[k]} onChange={(v) => onChange({ ...current, [k]: v })} error={errorAt(k)} readOnly={readOnly} required={required.includes(k)} />
        ),
      )}
    </Fragment>
  );
}
