// The target's first-contact matching (src/config/matching.ts) as a choice of the common orders.
// An order written in YAML or through the API that is not one of them (say, a source attribute
// as username) is shown as it is and kept until another choice is made.
import { Select } from '@mantine/core';

const PRESETS: Array<{ label: string; by: unknown }> = [
  { label: 'Username, then e-mail (default)', by: undefined },
  { label: 'E-mail, then username', by: ['email', 'username'] },
  { label: 'Username only', by: ['username'] },
  { label: 'E-mail only', by: ['email'] },
  { label: 'Never link an existing account: always create', by: 'never' },
];

const keyOf = (by: unknown) => JSON.stringify(by ?? null);

export function MatchingField({ value, onChange, error, readOnly }: { value: { by?: unknown } | undefined; onChange: (v: { by: unknown } | undefined) => void; error?: string; readOnly: boolean }) {
  const current = keyOf(value?.by);
  const data = PRESETS.map((p) => ({ value: keyOf(p.by), label: p.label }));
  if (!data.some((d) => d.value === current)) data.push({ value: current, label: `Custom: ${current}` });
  return (
    <Select
      label="Match existing accounts by"
      description="How a user idsync has not linked yet finds an existing account; a simulation shows the matches"
      data={data}
      value={current}
      allowDeselect={false}
      disabled={readOnly}
      error={error}
      onChange={(v) => {
        if (v === null || v === current) return;
        const preset = PRESETS.find((p) => keyOf(p.by) === v);
        onChange(preset?.by === undefined ? undefined : { by: preset.by });
      }}
    />
  );
}
