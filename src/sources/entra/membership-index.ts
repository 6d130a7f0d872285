// Which groups each user is in, as the per-group membership strategy reads it (groups.ts),
// held compactly for a whole listing (issue 9: memory flat in the directory's size).
//
// A directory has many users and few distinct *combinations* of groups, so each combination
// ("group set") is stored once and a user holds only the number of its set. Entra object ids
// are GUIDs: a canonical one (lower-case, 8-4-4-4-12 hex) is kept as 16 bytes in an
// open-addressing hash table over typed arrays, 20 bytes a slot outside the V8 heap, instead of
// a string, a Map entry and an array of names per user (~0.3 KB a user in the heap). Any other id
// goes to an ordinary Map, so no id is ever altered or confused with another.
//
// Groups are added one whole member list at a time, in the order their reads completed; every
// user's set is therefore reached by the same path for the same groups (a trie keyed by
// set and group), so equal memberships share one set whatever order the groups came in.

import { GroupSets, NO_GROUPS } from '../../core/group-sets.ts';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WORDS = 4; // 128 bits of a GUID
const EMPTY_SET = NO_GROUPS; // never stored for a user
const MIN_SLOTS = 1024;

export interface IndexStats {
  /** Users in at least one group. */
  users: number;
  /** Distinct group sets, the empty one included. */
  sets: number;
  /** Users whose id is not a canonical GUID, held in a Map. */
  otherIds: number;
  /** Bytes of the typed arrays holding GUID users (outside the V8 heap). */
  tableBytes: number;
}

export class MembershipIndex {
  private readonly groupNames: string[] = [];
  // Group sets (src/core/group-sets.ts); a second sighting of a user in the same member list
  // (a duplicate entry) leaves its set as it is.
  private readonly sets = new GroupSets();
  private readonly names: Array<readonly string[] | undefined> = [[]];

  private keys = new Uint32Array(MIN_SLOTS * WORDS);
  /** Set number + 1 per slot; 0 marks a free slot. */
  private values = new Int32Array(MIN_SLOTS);
  private guidUsers = 0;
  private readonly other = new Map<string, number>();
  private readonly word = new Uint32Array(WORDS); // scratch for the id being looked up

  /** Adds one group's complete member list. */
  addGroup(displayName: string, memberIds: Iterable<string>): void {
    const group = this.groupNames.length;
    this.groupNames.push(displayName);
    for (const id of memberIds) {
      if (GUID.test(id)) {
        encode(id, this.word);
        const slot = this.find(this.word);
        const current = this.values[slot]! - 1;
        const next = this.sets.extend(current < 0 ? EMPTY_SET : current, group);
        if (current < 0) {
          this.writeKey(slot, this.word);
          this.guidUsers++;
        }
        this.values[slot] = next + 1;
        if (this.guidUsers * 4 > this.values.length * 3) this.grow();
      } else {
        this.other.set(id, this.sets.extend(this.other.get(id) ?? EMPTY_SET, group));
      }
    }
  }

  /** The user's group display names, sorted (a fresh array); undefined when in no group. */
  get(userId: string): string[] | undefined {
    let set: number;
    if (GUID.test(userId)) {
      encode(userId, this.word);
      set = this.values[this.find(this.word)]! - 1;
    } else {
      set = this.other.get(userId) ?? -1;
    }
    return set <= EMPTY_SET ? undefined : [...this.namesOf(set)];
  }

  get size(): number {
    return this.guidUsers + this.other.size;
  }

  stats(): IndexStats {
    return { users: this.size, sets: this.sets.size, otherIds: this.other.size, tableBytes: this.keys.byteLength + this.values.byteLength };
  }

  private namesOf(set: number): readonly string[] {
    let names = this.names[set];
    if (!names) {
      names = this.sets.groups(set).map((g) => this.groupNames[g]!).sort(); // the order per-user reading gives
      this.names[set] = names;
    }
    return names;
  }

  /** The slot holding `key`, or the free slot where it belongs (linear probing). */
  private find(key: Uint32Array): number {
    const mask = this.values.length - 1;
    // A GUID's bits are random already; mixing two words spreads sequential test ids too.
    let slot = Math.imul(key[0]! ^ key[3]!, 0x9e3779b1) >>> 0 & mask;
    for (;;) {
      if (this.values[slot] === 0) return slot;
      const at = slot * WORDS;
      const k = this.keys;
      if (k[at] === key[0] && k[at + 1] === key[1] && k[at + 2] === key[2] && k[at + 3] === key[3]) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private writeKey(slot: number, key: Uint32Array): void {
    this.keys.set(key, slot * WORDS);
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    this.keys = new Uint32Array(oldKeys.length * 2);
    this.values = new Int32Array(oldValues.length * 2);
    const key = new Uint32Array(WORDS);
    for (let slot = 0; slot < oldValues.length; slot++) {
      if (oldValues[slot] === 0) continue;
      key.set(oldKeys.subarray(slot * WORDS, slot * WORDS + WORDS));
      const to = this.find(key);
      this.writeKey(to, key);
      this.values[to] = oldValues[slot]!;
    }
  }
}

/** A canonical GUID's 32 hex digits as four 32-bit words. */
function encode(guid: string, into: Uint32Array): void {
  const hex = guid.slice(0, 8) + guid.slice(9, 13) + guid.slice(14, 18) + guid.slice(19, 23) + guid.slice(24);
  for (let i = 0; i < WORDS; i++) into[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
}
