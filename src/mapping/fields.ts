// Resolves a mapping's target field name against what a target declares it can write.
// Families such as `property.` are declared once with a trailing dot; the key after the
// prefix is chosen by the administrator and checked here.
import type { TargetCapabilities, TargetField, TargetFieldName } from '../core/types.ts';

export type FieldType = TargetField['type'];

export type FieldResolution =
  | { kind: 'field'; field: TargetField; /** the key after a family prefix, e.g. `costCenter` */ key?: string }
  | { kind: 'unsupported'; reason: string }
  | { kind: 'bad-key'; family: string; message: string }
  | { kind: 'unknown' };

const MAX_FAMILY_KEY_LENGTH = 255;
// C0 and C1 control characters, DEL included: products reject or mangle them in keys.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

function isFamily(field: { name: string }): boolean {
  return field.name.endsWith('.');
}

/** Why a key after a family prefix is not acceptable, or undefined when it is. */
export function familyKeyProblem(key: string): string | undefined {
  if (key.length === 0) return 'the key after the prefix is empty';
  // The picker's placeholder ("property.<key>") saved as it is would write a property named "<key>".
  if (/^<[^>]*>$/.test(key)) return `"${key}" is a placeholder: put the name of the field after the prefix instead`;
  if (key.length > MAX_FAMILY_KEY_LENGTH) return `the key is ${key.length} characters long; at most ${MAX_FAMILY_KEY_LENGTH} are allowed`;
  if (CONTROL_CHARS.test(key)) return 'the key contains a control character';
  return undefined;
}

export function resolveTargetField(name: TargetFieldName, capabilities: TargetCapabilities): FieldResolution {
  // `unsupported` first: a field a target explicitly cannot write must say why, even when a
  // family (e.g. `confluence.profile.`) would otherwise match it.
  for (const entry of capabilities.unsupported ?? []) {
    if (entry.name === name || (isFamily(entry) && name.startsWith(entry.name))) {
      return { kind: 'unsupported', reason: entry.reason };
    }
  }
  const exact = capabilities.fields.find((f) => !isFamily(f) && f.name === name);
  if (exact) return { kind: 'field', field: exact };
  // The longest matching prefix wins, so a specific family beats a general one.
  let family: TargetField | undefined;
  for (const f of capabilities.fields) {
    if (isFamily(f) && name.startsWith(f.name) && (!family || f.name.length > family.name.length)) family = f;
  }
  if (family) {
    const key = name.slice(family.name.length);
    const problem = familyKeyProblem(key);
    if (problem) return { kind: 'bad-key', family: family.name, message: problem };
    return { kind: 'field', field: family, key };
  }
  return { kind: 'unknown' };
}

/**
 * The type of a field by idsync's naming convention, for previews made without a target's
 * capabilities at hand. Capabilities, when known, always take precedence.
 */
export function conventionalFieldType(name: TargetFieldName): FieldType {
  if (name === 'groups' || name.startsWith('crowd.attribute.')) return 'string[]';
  if (name === 'user.active') return 'boolean';
  if (name.startsWith('property.')) return 'json';
  return 'string';
}

/** A short list of what a target accepts, for "unknown field" messages. */
export function describeKnownFields(capabilities: TargetCapabilities): string {
  return capabilities.fields.map((f) => (isFamily(f) ? `${f.name}<key>` : f.name)).join(', ');
}
