// Form fields generated from a connector type's settings schema (JSON Schema from zod), plus the
// write-only secret field: a stored secret shows as "set" with a Replace button, never its value.
import { useState } from 'react';
import { Badge, Button, Group, NumberInput, PasswordInput, Select, Switch, TagsInput, Text, Textarea, TextInput } from '@mantine/core';

export type Obj = Record<string, any>;

export function labelFor(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[._-]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1).replace(/\bUrl\b/i, 'URL').replace(/\bId\b/, 'ID');
}

export function SecretField({ label, value, onChange, error, readOnly }: { label: string; value: any; onChange: (v: any) => void; error?: string; readOnly?: boolean }) {
  const [replacing, setReplacing] = useState(false);
  const isSet = value && typeof value === 'object' && value.set === true;
  const env = value && typeof value === 'object' && typeof value.env === 'string' ? value.env : undefined;
  const file = value && typeof value === 'object' && typeof value.file === 'string' ? value.file : undefined;
  if ((isSet || env || file) && !replacing) {
    return (
      <div>
        <Text size="sm" fw={500}>{label}</Text>
        <Group gap="xs" mt={4}>
          <Badge color="green" variant="light" data-testid={`secret-set-${label}`}>{isSet ? 'set' : env ? `from environment variable ${env}` : `from file ${file}`}</Badge>
          {!readOnly && <Button size="compact-xs" variant="default" onClick={() => setReplacing(true)}>Replace</Button>}
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
