// Form fields generated from a connector type's settings schema (JSON Schema from zod), plus the
// write-only secret field: a stored secret shows as "set" with a Replace button, never its value.
import { Fragment, useEffect, useState } from 'react';
import { Badge, Button, Fieldset, FileInput, Group, Input, NumberInput, PasswordInput, SegmentedControl, Select, SimpleGrid, Stack, Switch, TagsInput, Text, Textarea, TextInput } from '@mantine/core';

export type Obj = Record<string, any>;

export function labelFor(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[._-]+/g, ' ');
  // Capitalise first, then fix the acronyms: replacing only after the first letter left a
  // leading "url" as "Url".
  return (words.charAt(0).toUpperCase() + words.slice(1)).replace(/\bUrl\b/gi, 'URL').replace(/\bId\b/g, 'ID');
}

export function SecretField({ label, value, onChange, error, readOnly, pem }: {
  label: string;
  value: any;
  onChange: (v: any) => void;
  error?: string;
  readOnly?: boolean;
  /** A PEM block (a private key): entered in a text area or read from a file instead of a one-line password box. */
  pem?: boolean;
}) {
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
  const description = replacing ? 'The new value replaces the stored one when you save' : 'Stored encrypted; it is never shown again';
  const typed = value && typeof value === 'object' && typeof value.replace === 'string' ? value.replace : '';
  // Erasing what was typed keeps the stored value (or leaves the secret unset).
  const enter = (text: string) => onChange(text ? { replace: text } : isSet ? { set: true } : undefined);
  if (pem) return <PemInput label={label} description={description} value={typed} onChange={enter} error={error} kind="PRIVATE KEY" />;
  return (
    <PasswordInput
      label={label}
      description={description}
      placeholder={isSet ? 'enter the new value' : 'enter the secret'}
      value={typed}
      onChange={(e) => enter(e.currentTarget.value)}
      error={error}
      autoComplete="new-password"
    />
  );
}

/** Does this setting hold a PEM block (a key or a certificate)? Its title or description says so. */
export const isPem = (schema: any): boolean => /\bPEM\b/.test(`${schema?.title ?? ''} ${schema?.description ?? ''}`);

/**
 * The text of a picked key or certificate file. PEM files are taken as they are; a binary (DER)
 * certificate, as Windows exports a .cer, becomes a PEM block. A binary key (.pfx, .der) is
 * refused with how to convert it: guessing its format in the browser would be wrong too often.
 */
async function readPemFile(file: File, kind: 'PRIVATE KEY' | 'CERTIFICATE'): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  if (text.includes('-----BEGIN')) return text.trim();
  if (kind === 'CERTIFICATE' && bytes[0] === 0x30) {
    let binary = '';
    for (const b of bytes) binary += String.fromCharCode(b);
    return `-----BEGIN CERTIFICATE-----\n${btoa(binary).replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----`;
  }
  throw new Error(
    kind === 'PRIVATE KEY'
      ? `${file.name} is not a PEM file; convert it first, e.g. openssl pkcs12 -in cert.pfx -nocerts -nodes -out key.pem`
      : `${file.name} is neither a PEM nor a DER certificate`,
  );
}

/** A PEM block: pasted into a text area or read from a file in the browser (nothing is uploaded until Save). */
function PemInput({ label, description, value, onChange, error, kind, required }: {
  label: string;
  description?: string;
  value: string;
  onChange: (text: string) => void;
  error?: string;
  kind: 'PRIVATE KEY' | 'CERTIFICATE';
  required?: boolean;
}) {
  const [file, setFile] = useState<File | null>(null);
  const [fileError, setFileError] = useState<string>();
  // A hint while typing; the server decides. Pasting the wrong thing (a thumbprint, a .pfx as
  // text) is the usual mistake, and it otherwise shows only when Test connection fails.
  const hint = value.trim() && !value.includes('-----BEGIN') ? `expected a PEM block (-----BEGIN ${kind}-----)` : undefined;
  return (
    <Stack gap={4}>
      <Textarea
        label={label}
        description={description}
        placeholder={`-----BEGIN ${kind}-----`}
        value={value}
        onChange={(e) => { setFile(null); onChange(e.currentTarget.value); }}
        error={fileError ?? error ?? hint}
        withAsterisk={required}
        autosize
        minRows={2}
        maxRows={8}
        // Monospace for the PEM only (ff would set the label and description in it too).
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
        spellCheck={false}
        autoComplete="off"
      />
      <FileInput
        size="xs"
        aria-label={`Read ${label} from a file`}
        placeholder="…or read it from a file"
        accept=".pem,.key,.crt,.cer,.txt"
        value={file}
        clearable={false}
        onChange={async (f) => {
          setFile(f);
          if (!f) return;
          try {
            onChange(await readPemFile(f, kind));
            setFileError(undefined);
          } catch (e) {
            setFileError((e as Error).message);
          }
        }}
      />
    </Stack>
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
    // Unset means the default: say which, rather than show an empty box.
    const placeholder = schema.default !== undefined ? `${String(schema.default)} (default)` : undefined;
    return <Select label={label} description={description} data={schema.enum.map(String)} value={value ?? null} onChange={(v) => onChange(v ?? undefined)} error={error} disabled={readOnly} clearable={!required} placeholder={placeholder} />;
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

/**
 * Sibling settings of which exactly one is used, such as Entra ID's client secret and
 * certificate (the server refuses both at once): edited as one choice, so the other one is
 * never left in the saved configuration. Applies to any settings schema that has all the keys.
 */
export const ALTERNATIVES: Array<{ label: string; options: Array<{ key: string; label: string }> }> = [
  { label: 'Credential', options: [{ key: 'clientSecret', label: 'Client secret' }, { key: 'certificate', label: 'Certificate' }] },
];

/** The alternatives group a setting of `props` belongs to, if any. */
export function alternativesOf(key: string, props: Record<string, any>) {
  return ALTERNATIVES.find((g) => g.options.some((o) => o.key === key) && g.options.every((o) => o.key in props));
}

/** The variants of a setting that is one of several objects told apart by a `type` constant, else undefined. */
export function variantsOf(raw: any): any[] | undefined {
  const list = raw?.oneOf ?? raw?.anyOf;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.every((v) => v?.type === 'object' && v.properties?.type?.const !== undefined) ? list : undefined;
}

/** A secret reference ({env} | {file} | {stored}) in JSON Schema. */
const isSecretRefSchema = (s: any): boolean => Array.isArray(s?.anyOf) && s.anyOf.some((x: any) => x?.properties?.stored);
/** A setting given either as plain text or as a secret reference (e.g. a certificate: not secret, but may come from a file). */
const isTextOrRef = (s: any): boolean => Array.isArray(s?.anyOf) && s.anyOf.some((x: any) => x?.type === 'string') && s.anyOf.some(isSecretRefSchema);
/** A setting that is an object with settings of its own (e.g. formLogin {username, password}). */
const isObjectSchema = (s: any): boolean => s?.type === 'object' && !!s.properties && Object.keys(s.properties).length > 0;
const isRef = (v: any): boolean => !!v && typeof v === 'object' && (v.set === true || typeof v.env === 'string' || typeof v.file === 'string' || typeof v.stored === 'string' || typeof v.replace === 'string');

interface SettingProps {
  /** The setting's key in its parent. */
  name: string;
  /** Its dotted path in the section (certificate.privateKey), as secretFields names secrets. */
  path: string;
  schema: any;
  value: any;
  onChange: (v: any) => void;
  /** Secret settings of the connector type, as dotted paths (auth.token). */
  secretFields: string[];
  /** The save problem at a path below this setting ([] for the setting itself). */
  errorAt: (...sub: string[]) => string | undefined;
  readOnly?: boolean;
  required?: boolean;
}

/**
 * One setting of a connector type, in the form its kind needs: a secret write-only (SecretField),
 * a `type`-discriminated one as a picker and its kind's fields (VariantField), an object as its
 * own fields (ObjectField), anything else by its JSON Schema type (SchemaField). Used for the
 * settings themselves and, recursively, for the fields inside them, so a nested secret
 * (certificate.privateKey, formLogin.password) is as write-only as a top-level one.
 */
export function SettingField(p: SettingProps) {
  const label = p.schema?.title ?? labelFor(p.name);
  if (p.secretFields.includes(p.path)) {
    return <SecretField label={label} value={p.value} onChange={p.onChange} error={p.errorAt()} readOnly={p.readOnly} pem={isPem(p.schema)} />;
  }
  if (variantsOf(p.schema)) return <VariantField {...p} />;
  if (isTextOrRef(p.schema)) {
    // Given as a reference (from a file, an environment variable, or stored): shown like a secret.
    if (isRef(p.value)) return <SecretField label={label} value={p.value} onChange={p.onChange} error={p.errorAt()} readOnly={p.readOnly} pem={isPem(p.schema)} />;
    if (isPem(p.schema)) {
      if (p.readOnly) return <Textarea label={label} value={p.value ?? ''} styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }} autosize maxRows={8} disabled />;
      return <PemInput label={label} description={p.schema.description} value={typeof p.value === 'string' ? p.value : ''} onChange={(t) => p.onChange(t.trim() ? t : undefined)} error={p.errorAt()} kind="CERTIFICATE" required={p.required} />;
    }
    return <SchemaField name={p.name} schema={{ ...p.schema, anyOf: undefined, type: 'string' }} value={p.value} onChange={p.onChange} error={p.errorAt()} readOnly={p.readOnly} required={p.required} />;
  }
  if (isObjectSchema(p.schema)) return <ObjectField {...p} />;
  return <SchemaField name={p.name} schema={p.schema ?? {}} value={p.value} onChange={p.onChange} error={p.errorAt()} readOnly={p.readOnly} required={p.required} />;
}

/**
 * The fields of an object setting, each by SettingField. Standing alone (formLogin) it is a
 * framed group across the form with its description saying why it is needed, and it is absent
 * from the configuration while all its fields are empty. `bare` (the chosen one of
 * alternatives) renders only the fields, as grid cells after the picker, and keeps the object.
 */
export function ObjectField({ bare, ...p }: SettingProps & { bare?: boolean }) {
  const current = p.value && typeof p.value === 'object' ? p.value : undefined;
  const props: Record<string, any> = p.schema.properties;
  const required: string[] = p.schema.required ?? [];
  const set = (k: string, v: any) => {
    const next = { ...current, [k]: v };
    if (v === undefined) delete next[k];
    p.onChange(Object.keys(next).length > 0 || bare || p.required ? next : undefined);
  };
  const fields = Object.keys(props).map((k) => (
    <SettingField
      key={k}
      name={k}
      path={`${p.path}.${k}`}
      schema={props[k]}
      value={current?.[k]}
      onChange={(v) => set(k, v)}
      secretFields={p.secretFields}
      errorAt={(...sub) => p.errorAt(k, ...sub)}
      readOnly={p.readOnly}
      // Required inside the object only once the object is there.
      required={required.includes(k) && (current !== undefined || bare || p.required)}
    />
  ));
  const own = p.errorAt();
  if (bare) return <Fragment>{fields}{own && <Text size="xs" c="red">{own}</Text>}</Fragment>;
  return (
    <Fieldset legend={p.schema.title ?? labelFor(p.name)} style={{ gridColumn: '1 / -1' }} data-testid={`setting-${p.path}`}>
      {p.schema.description && <Text size="sm" c="dimmed" mb="xs">{p.schema.description}</Text>}
      {own && <Text size="xs" c="red" mb="xs">{own}</Text>}
      <SimpleGrid cols={{ base: 1, md: 2 }}>{fields}</SimpleGrid>
    </Fieldset>
  );
}

/**
 * The picker of a choice between kinds (how idsync signs in, which credential it uses): a
 * drop-down, or buttons side by side when the kinds are few and short.
 */
function KindPicker({ label, description, kinds, value, onChange, error, readOnly, placeholder, segmented }: {
  label: string;
  description?: string;
  kinds: Array<{ value: string; label: string }>;
  value: string | null;
  onChange: (v: string) => void;
  error?: string;
  readOnly?: boolean;
  placeholder?: string;
  segmented?: boolean;
}) {
  if (segmented) {
    return (
      <Input.Wrapper label={label} description={description} error={error} withAsterisk labelElement="div">
        <div>
          <SegmentedControl mt={4} aria-label={label} data={kinds} value={value ?? ''} onChange={onChange} disabled={readOnly} />
        </div>
      </Input.Wrapper>
    );
  }
  return (
    <Select label={label} description={description} placeholder={placeholder} data={kinds} value={value} onChange={(v) => v && onChange(v)} error={error} disabled={readOnly} allowDeselect={false} withAsterisk />
  );
}

/**
 * A setting that is one of several shapes told apart by `type`, such as a Data Center target's
 * auth (personal access token | username and password): a picker for the kind, then that kind's
 * own fields, its secrets write-only like any other. Before, such a setting was a JSON box, so an
 * administrator had to type {"type":"pat","token":{"replace":"..."}} and the token stayed visible.
 * Renders several grid cells (a fragment) so the fields line up with the others.
 */
export function VariantField(p: Omit<SettingProps, 'path'> & { path?: string }) {
  const { name, schema, value, onChange, errorAt, readOnly } = p;
  const variants = variantsOf(schema)!;
  const label = schema.title ?? labelFor(name);
  const current = value && typeof value === 'object' ? value : undefined;
  const variant = variants.find((v) => v.properties.type.const === current?.type);
  // A problem with the setting as a whole (no kind chosen) or with its kind goes under the picker.
  const pickerError = [errorAt(), errorAt('type')].filter(Boolean).join('; ') || undefined;
  const { type: _type, ...fields } = variant?.properties ?? {};
  return (
    <Fragment>
      <KindPicker
        label={label}
        placeholder="Choose how idsync signs in"
        kinds={variants.map((v) => ({ value: String(v.properties.type.const), label: KIND_LABELS[v.properties.type.const] ?? String(v.properties.type.const) }))}
        value={current?.type ?? null}
        onChange={(t) => onChange({ type: t })}
        error={pickerError}
        readOnly={readOnly}
      />
      {variant && (
        <ObjectField
          key={current?.type}
          bare
          name={name}
          path={p.path ?? name}
          schema={{ ...variant, properties: fields }}
          value={current}
          onChange={(v) => onChange({ ...v, type: current!.type })}
          secretFields={p.secretFields}
          errorAt={errorAt}
          readOnly={readOnly}
        />
      )}
    </Fragment>
  );
}

/**
 * A group of ALTERNATIVES (client secret | certificate): buttons to choose one, then that one's
 * field(s). Choosing removes the others from the configuration; the server then deletes their
 * stored secrets on save. A new connector starts with the first option.
 */
export function AlternativesField({ group, props, section, onChange, secretFields, errorAt, readOnly }: {
  group: (typeof ALTERNATIVES)[number];
  /** The section's settings schemas by key. */
  props: Record<string, any>;
  section: Record<string, any>;
  /** Receives a patch of the section: the chosen setting, the others undefined. */
  onChange: (patch: Record<string, any>) => void;
  secretFields: string[];
  errorAt: (key: string, ...sub: string[]) => string | undefined;
  readOnly?: boolean;
}) {
  const chosen = group.options.find((o) => section[o.key] !== undefined)?.key ?? group.options[0]!.key;
  const schema = props[chosen] ?? {};
  const pick = (key: string) => {
    if (key === chosen) return;
    onChange(Object.fromEntries(group.options.map((o) => [o.key, o.key === key && isObjectSchema(props[key]) ? {} : undefined])));
  };
  // Problems placed on an option not shown (e.g. "configure exactly one credential") go under the picker.
  const pickerError = group.options.filter((o) => o.key !== chosen).map((o) => errorAt(o.key)).filter(Boolean).join('; ') || undefined;
  const field: SettingProps = {
    name: chosen, path: chosen, schema, value: section[chosen], onChange: (v) => onChange({ [chosen]: v }), secretFields, errorAt: (...sub) => errorAt(chosen, ...sub), readOnly, required: true,
  };
  return (
    <Fragment>
      <KindPicker segmented label={group.label} description={schema.description} kinds={group.options.map((o) => ({ value: o.key, label: o.label }))} value={chosen} onChange={pick} error={pickerError} readOnly={readOnly} />
      {isObjectSchema(schema) ? <ObjectField {...field} bare /> : <SettingField {...field} />}
    </Fragment>
  );
}
