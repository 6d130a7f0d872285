// A map from directory object ids to small non-negative integers, held compactly (issue 9:
// memory flat in the directory's size). Shared by the Entra MembershipIndex (user id → group
// set, src/sources/entra/membership-index.ts) and the LDAP read's ids-already-returned set
// (GuidSet below, src/sources/ldap/connector.ts).
//
// Entra object ids, entryUUID and objectGUID-as-text are GUIDs: a canonical one (lower-case,
// 8-4-4-4-12 hex) is kept as 16 bytes in an open-addressing hash table over typed arrays, 20
// bytes a slot outside the V8 heap, instead of a string and a Map entry (~100 bytes in the
// heap). Any other id (upper-case, braced, a DN, a SID…) goes to an ordinary Map as it is, so no
// id is ever altered or confused with another: lookups are exact, never hashed away.
//
// Variable-length keys (DNs) have their own off-heap table, src/sources/ldap/key-table.ts: its
// slot keeps an offset and a length into a byte buffer, 12 bytes more a slot than a GUID needs.

const WORDS = 4; // 128 bits of a GUID
const MIN_SLOTS = 1024; // a power of two: slots are found by masking
const MAX_VALUE = 0x7ffffffe; // stored + 1 in an Int32Array, 0 marking a free slot

/** True when `id` is held in the typed table rather than the Map. */
export function isCanonicalGuid(id: string): boolean {
  return encode(id, new Uint32Array(WORDS));
}

export class GuidMap {
  private keys = new Uint32Array(MIN_SLOTS * WORDS);
  /** Value + 1 per slot; 0 marks a free slot. */
  private values = new Int32Array(MIN_SLOTS);
  private guids = 0;
  private readonly other = new Map<string, number>();
  private readonly word = new Uint32Array(WORDS); // scratch for the id being looked up

  get(id: string): number | undefined {
    if (!encode(id, this.word)) return this.other.get(id);
    const stored = this.values[this.find(this.word)]!;
    return stored === 0 ? undefined : stored - 1;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  set(id: string, value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > MAX_VALUE) throw new RangeError(`GuidMap holds integers 0..${MAX_VALUE}, not ${value}`);
    if (!encode(id, this.word)) {
      this.other.set(id, value);
      return;
    }
    const slot = this.find(this.word);
    if (this.values[slot] === 0) {
      this.keys.set(this.word, slot * WORDS);
      this.guids++;
    }
    this.values[slot] = value + 1;
    if (this.guids * 4 > this.values.length * 3) this.grow(); // load ≤ 3/4 keeps probes short
  }

  get size(): number {
    return this.guids + this.other.size;
  }

  /** Ids that are not canonical GUIDs, held in the Map. */
  get otherIds(): number {
    return this.other.size;
  }

  /** Bytes of the typed arrays holding GUIDs (outside the V8 heap). */
  get tableBytes(): number {
    return this.keys.byteLength + this.values.byteLength;
  }

  /** The slot holding `key`, or the free slot where it belongs (linear probing). */
  private find(key: Uint32Array): number {
    const mask = this.values.length - 1;
    // A GUID's bits are random already; mixing two words spreads sequential test ids too.
    let slot = (Math.imul(key[0]! ^ key[3]!, 0x9e3779b1) >>> 0) & mask;
    for (;;) {
      if (this.values[slot] === 0) return slot;
      const at = slot * WORDS;
      const k = this.keys;
      if (k[at] === key[0] && k[at + 1] === key[1] && k[at + 2] === key[2] && k[at + 3] === key[3]) return slot;
      slot = (slot + 1) & mask;
    }
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
      this.keys.set(key, to * WORDS);
      this.values[to] = oldValues[slot]!;
    }
  }
}

/** A set of ids over GuidMap (same exactness; 4 bytes a slot more than a bit would need). */
export class GuidSet {
  private readonly map = new GuidMap();

  /** Adds `id`; false when it was there already. */
  add(id: string): boolean {
    if (this.map.has(id)) return false;
    this.map.set(id, 0);
    return true;
  }

  has(id: string): boolean {
    return this.map.has(id);
  }

  get size(): number {
    return this.map.size;
  }

  get tableBytes(): number {
    return this.map.tableBytes;
  }
}

/** Value of a lower-case hex digit by character code; -1 for anything else. */
const HEX = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX[48 + c] = c;
for (let c = 0; c < 6; c++) HEX[97 + c] = 10 + c;

/**
 * A canonical GUID (lower-case, 8-4-4-4-12 hex) as four 32-bit words in `into`; false for any
 * other id (`into` is then garbage). One pass over the character codes: this runs for every
 * membership and every user a listing reads, and a regular expression test, five slices and four
 * parseInt calls per id were a measurable share of a no-change run (docs/benchmarks.md).
 */
function encode(id: string, into: Uint32Array): boolean {
  if (id.length !== 36) return false;
  let word = 0;
  let digits = 0;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false; // '-'
      continue;
    }
    const v = c < 128 ? HEX[c]! : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++digits % 8 === 0) {
      into[(digits >>> 3) - 1] = word >>> 0;
      word = 0;
    }
  }
  return true;
}
