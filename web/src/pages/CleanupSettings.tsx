// A target's leaver settings under Advanced: its `cleanup` (what happens to an account the
// identity provider no longer gives) and, on Jira Cloud and Confluence Cloud, `accessGroups`
// (the product-access groups "remove access" takes a leaver out of). Both are edited from the
// target's settings schema like the rest of the form; this adds the help text the schema has not,
// and keeps them together instead of scattered over Basic and Advanced.
import { Divider, SimpleGrid, TagsInput, Text } from '@mantine/core';
import { SettingField, type Obj } from './fields';

/** Settings this section owns; the generic settings lists leave them out (like TARGET_BASE). */
export const CLEANUP_KEYS = new Set(['cleanup', 'accessGroups']);

/** Help text by setting path in `cleanup`, from README → Leavers (cleanup). */
const HELP: Record<string, { title?: string; description: string }> = {
  action: { title: 'Action', description: 'disable (default: on Cloud, removes product access instead) · delete · keep (only report) · anonymise' },
  deleteAfterDays: { title: 'Delete after days', description: 'Disable now, delete this many days later (with action disable or anonymise)' },
  byReason: { title: 'By reason', description: 'A different action by why the user is gone; each unset one falls back to Action' },
  'byReason.deleted': { description: 'Deleted in the identity provider' },
  'byReason.disabled': { description: 'Disabled there (the mapping gives user.active false): keep or disable' },
  'byReason.outOfScope': { title: 'Out of scope', description: "Still in the provider, but outside the connector's filter or required groups" },
  removeGroups: { title: 'Remove group memberships', description: 'Remove the memberships idsync added (never manual ones), except Keep groups' },
  keepGroups: { title: 'Keep groups', description: 'Names or patterns (svc-*) of groups a leaver stays in. Press Enter after each' },
  protected: { title: 'Protected', description: 'Never touched by cleanup' },
  'protected.users': { title: 'Protected users', description: 'Target username, e-mail or pattern (svc-*). Press Enter after each' },
  'protected.groups': { title: 'Protected groups', description: 'Members of these groups (names or patterns) are never touched. Press Enter after each' },
};

/** The cleanup schema with the help text added at every level. */
function withHelp(schema: any, prefix = ''): any {
  if (!schema?.properties) return schema;
  const properties = Object.fromEntries(Object.entries(schema.properties).map(([k, s]: [string, any]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return [k, withHelp({ ...s, ...HELP[path] }, path)];
  }));
  return { ...schema, properties };
}

export function CleanupSettings({ target, schema, onChange, errorAt, readOnly }: {
  target: Obj;
  /** The target type's settings schema (JSON Schema). */
  schema: any;
  onChange: (patch: Obj) => void;
  errorAt: (...path: Array<string | number>) => string | undefined;
  readOnly: boolean;
}) {
  const props = schema?.properties ?? {};
  if (!props.cleanup && !props.accessGroups) return null;
  return (
    <div data-testid={`cleanup-${target.id}`}>
      <Divider my="md" label="Leavers (cleanup)" labelPosition="left" />
      <Text size="sm" c="dimmed" mb="xs">
        What happens to an account the identity provider no longer gives, after a complete read. Unset settings keep the safe defaults (disable, never delete). The README's section "Leavers (cleanup)" explains each setting.
      </Text>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        {props.accessGroups && (
          <TagsInput
            label="Product-access groups"
            description="The groups that grant this product (e.g. jira-software-users-acme). Cloud cannot deactivate an account: a leaver is taken out of these, which frees the licence seat. Empty: remove access is not available. Press Enter after each"
            value={target.accessGroups ?? []}
            onChange={(v) => onChange({ accessGroups: v })}
            error={errorAt('accessGroups')}
            disabled={readOnly}
          />
        )}
        {props.cleanup && (
          <SettingField name="cleanup" path="cleanup" schema={{ ...withHelp(props.cleanup), title: 'Cleanup' }} value={target.cleanup} onChange={(v) => onChange({ cleanup: v })} secretFields={[]} errorAt={(...sub) => errorAt('cleanup', ...sub)} readOnly={readOnly} />
        )}
      </SimpleGrid>
    </div>
  );
}
