// The ids one read has returned, held compactly (issue 9: memory flat in the directory's size).
// A read must skip what it already returned when it starts again on a new connection or reads
// a suspicious empty end once more (connector.ts readUsers), so it remembers every id; both
// presets' ids are GUIDs (entryUUID, objectGUID as text), kept here as 16 bytes in an
// open-addressing table over typed arrays (20 bytes a slot, outside the V8 heap) instead of a
// string in a Set. Any other id (not a canonical lower-case GUID) goes to an ordinary Set, so
// an id is never altered or confused with another: membership is exact, never hashed away.

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const WORDS = 4;
const MIN_SLOTS = 1024;

export class IdSet {
  private keys = new Uint32Array(MIN_SLOTS * WORDS);
  /** 1 where a slot is used. */
  private used = new Uint8Array(MIN_SLOTS);
  private guids = 0;
  private readonly other = new Set<string>();
  private readonly word = new Uint32Array(WORDS);

  /** Adds `id`; false when it was there already. */
  add(id: string): boolean {
    if (!GUID.test(id)) {
      if (this.other.has(id)) return false;
      this.other.add(id);
      return true;
    }
    encode(id, this.word);
    const slot = this.find(this.word);
    if (this.used[slot]) return false;
    this.keys.set(this.word, slot * WORDS);
    this.used[slot] = 1;
    if (++this.guids * 4 > this.used.length * 3) this.grow();
    return true;
  }

  has(id: string): boolean {
    if (!GUID.test(id)) return this.other.has(id);
    encode(id, this.word);
    return this.used[this.find(this.word)] === 1;
  }

  get size(): number {
    return this.guids + this.other.size;
  }

  /** Bytes of the typed arrays (outside the V8 heap). */
  get tableBytes(): number {
    return this.keys.byteLength + this.used.byteLength;
  }

  /** The slot holding `key`, or the free slot where it belongs (linear probing). */
  private find(key: Uint32Array): number {
    const mask = this.used.length - 1;
    let slot = (Math.imul(key[0]! ^ key[3]!, 0x9e3779b1) >>> 0) & mask;
    for (;;) {
      if (this.used[slot] === 0) return slot;
      const at = slot * WORDS;
      const k = this.keys;
      if (k[at] === key[0] && k[at + 1] === key[1] && k[at + 2] === key[2] && k[at + 3] === key[3]) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldUsed = this.used;
    this.keys = new Uint32Array(oldKeys.length * 2);
    this.used = new Uint8Array(oldUsed.length * 2);
    const key = new Uint32Array(WORDS);
    for (let slot = 0; slot < oldUsed.length; slot++) {
      if (!oldUsed[slot]) continue;
      key.set(oldKeys.subarray(slot * WORDS, slot * WORDS + WORDS));
      const to = this.find(key);
      this.keys.set(key, to * WORDS);
      this.used[to] = 1;
    }
  }
}

/** A canonical GUID's 32 hex digits as four 32-bit words. */
function encode(guid: string, into: Uint32Array): void {
  const hex = guid.slice(0, 8) + guid.slice(9, 13) + guid.slice(14, 18) + guid.slice(19, 23) + guid.slice(24);
  for (let i = 0; i < WORDS; i++) into[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
}
