import { type CallTable, FLAG_COPY } from './callTable';
import { isClaudeMessageKey, type NormalizeContext } from './normalize';

/**
 * Claude Code calls that several files of a workspace hold: a resumed or forked session copies earlier assistant
 * messages (same `message.id`, `requestId` and usage) into its own transcript. Within a file the reader keeps one row
 * per message; across files this index does: of the rows of one message (`message.id` + `requestId`, as ccusage
 * matches them), the one in the file that sorts first by path counts, the others are marked FLAG_COPY
 * (`CallTable.markCopies`) and every figure leaves them out. The marks depend only on the files' contents and paths, not
 * on the order they were read in; `sync` brings them up to date after files were added, appended to, read again or
 * removed (a copy counts again once its original is gone). Only files whose reading context read Claude Code messages
 * (`NormalizeContext.claudeCode`) are looked at: others cost a check each. Pure.
 */

/** A file as the index sees it: its path (which ranks it), its calls and the reading context that knows their ids. */
export interface CopySource {
  path: string;
  table: CallTable;
  ctx: Pick<NormalizeContext, 'messages' | 'claudeCode'>;
}

/** What the index took of a file: its table, the rows below `length`, and of each row taken its message id and holder. */
interface Taken {
  path: string;
  table: CallTable;
  /** Its index in the index's `slots` (the holders' file). */
  slot: number;
  length: number;
  keys: string[];
  holders: number[];
}

export class CopyIndex {
  /**
   * The first holder of each message id: a row holding it, an index into the holder columns below, whose `next` chains
   * the other rows holding it (several when files share the message). Keyed by the id alone, the string the reading
   * context already holds (its hash kept with it), not by id + requestId, which would build and hash a new string per
   * row (a third of a first sync's time over 2,000 transcripts); holders of one id with different requestIds are
   * different messages (`firstByRequest`). Holders are numbers in typed columns, not objects: with 2,000 transcripts'
   * ~270,000 holder objects the index took 37.6 MB of the heap, 18.5 MB without them.
   */
  private readonly first = new ShardedMap<number>();
  /** Per holder: its file's slot, its row, and the next holder of its message id (-1: none; free ones chain too). */
  private slotOf = new Int32Array(1024);
  private rowOf = new Int32Array(1024);
  private next = new Int32Array(1024);
  private holders = 0;
  private freeHolder = -1;
  private readonly files = new Map<string, Taken>();
  private slots: (Taken | undefined)[] = [];
  private freeSlots: number[] = [];
  /** How many times the index started over because most files went at once (`sync`; tests). */
  restarts = 0;

  /**
   * Brings the marks up to date with `sources` (every file read, in any order): files no longer there, or read again
   * (another table), are taken out; rows appended since the last sync are taken in. Returns the paths of the files
   * whose marks changed (each change is an edit of its table, which views take in as a row replaced in place).
   */
  sync(sources: readonly CopySource[]): Set<string> {
    const now = new Map<string, CopySource>();
    for (const s of sources) if (s.ctx.claudeCode) now.set(s.path, s);
    const touched = new Set<string>();
    const gone: Taken[] = [];
    for (const [path, f] of this.files) {
      const s = now.get(path);
      if (!s || s.table !== f.table || s.table.length < f.length) gone.push(f);
    }
    // Most files gone or read again (a refresh: 2,000 transcripts' rows took ~0.3 s to take out one by one): the index
    // starts over, and the files left are taken in again whole (their rows touched, so their marks are made anew).
    if (gone.length >= MASS_DROP_FILES && gone.length * 2 >= this.files.size) {
      this.clear();
      this.restarts++;
    } else for (const f of gone) this.drop(f, touched);
    for (const s of now.values()) {
      let f = this.files.get(s.path);
      if (!f) {
        const slot = this.freeSlots.pop() ?? this.slots.length;
        this.files.set(s.path, (f = { path: s.path, table: s.table, slot, length: 0, keys: [], holders: [] }));
        this.slots[slot] = f;
      }
      if (s.table.length > f.length) this.take(s, f, touched);
    }
    // The marks each touched message's rows should have, by table (marked together: see CallTable.markCopies).
    const marks = new Map<CallTable, { path: string; rows: Map<number, boolean> }>();
    const mark = (h: number, copy: boolean) => {
      const f = this.slots[this.slotOf[h]]!;
      const row = this.rowOf[h];
      if (((f.table.flags[row] & FLAG_COPY) !== 0) === copy) return;
      let m = marks.get(f.table);
      if (!m) marks.set(f.table, (m = { path: f.path, rows: new Map() }));
      m.rows.set(row, copy);
    };
    const chain: number[] = [];
    for (const key of touched) {
      const h = this.first.get(key);
      if (h === undefined) continue;
      if (this.next[h] < 0) {
        mark(h, false);
        continue;
      }
      chain.length = 0;
      for (let x = h; x >= 0; x = this.next[x]) chain.push(x);
      const first = this.firstByRequest(chain);
      for (const x of chain) mark(x, x !== first.get(this.requestOf(x)));
    }
    const changed = new Set<string>();
    for (const [t, m] of marks) if (t.markCopies(m.rows) > 0) changed.add(m.path);
    return changed;
  }

  /** Whether a file other than `path` holds Claude Code messages (as of the last sync). */
  holdsMessagesBesides(path: string): boolean {
    for (const [p, f] of this.files) if (p !== path && f.keys.length > 0) return true;
    return false;
  }

  /** A holder's `requestId` ('' when none). */
  private requestOf(h: number): string {
    const t = this.slots[this.slotOf[h]]!.table;
    const id = t.tags.get('requestId')?.[this.rowOf[h]] ?? 0;
    return id !== 0 ? t.pool.get(id) : '';
  }

  /** The holder that counts of each message among the holders of one id (by requestId): the one whose path sorts first. */
  private firstByRequest(chain: readonly number[]): Map<string, number> {
    const first = new Map<string, number>();
    for (const x of chain) {
      const req = this.requestOf(x);
      const f = first.get(req);
      if (f === undefined || this.slots[this.slotOf[x]]!.path < this.slots[this.slotOf[f]]!.path) first.set(req, x);
    }
    return first;
  }

  /** Takes in the message rows of `s` from `f.length` to its length. */
  private take(s: CopySource, f: Taken, touched: Set<string>): void {
    const from = f.length;
    const to = s.table.length;
    for (const [id, m] of s.ctx.messages) {
      const row = m.row;
      if (row < from || row >= to || !isClaudeMessageKey(id)) continue;
      const h = this.newHolder(f.slot, row);
      this.next[h] = this.first.get(id) ?? -1;
      this.first.set(id, h);
      f.keys.push(id);
      f.holders.push(h);
      touched.add(id);
    }
    f.length = to;
  }

  /** Takes a file's rows out (its table's marks are left as they are: the table is gone or read again). */
  private drop(f: Taken, touched: Set<string>): void {
    for (let k = 0; k < f.keys.length; k++) {
      const key = f.keys[k];
      const h = f.holders[k];
      const head = this.first.get(key);
      if (head === h) {
        if (this.next[h] < 0) this.first.delete(key);
        else this.first.set(key, this.next[h]);
      } else if (head !== undefined) {
        let x = head;
        while (this.next[x] >= 0 && this.next[x] !== h) x = this.next[x];
        if (this.next[x] === h) this.next[x] = this.next[h];
      }
      this.next[h] = this.freeHolder;
      this.freeHolder = h;
      touched.add(key);
    }
    this.files.delete(f.path);
    this.slots[f.slot] = undefined;
    this.freeSlots.push(f.slot);
  }

  private newHolder(slot: number, row: number): number {
    let h = this.freeHolder;
    if (h >= 0) this.freeHolder = this.next[h];
    else {
      if (this.holders === this.next.length) {
        const grow = (a: Int32Array) => {
          const b = new Int32Array(a.length * 2);
          b.set(a);
          return b;
        };
        this.slotOf = grow(this.slotOf);
        this.rowOf = grow(this.rowOf);
        this.next = grow(this.next);
      }
      h = this.holders++;
    }
    this.slotOf[h] = slot;
    this.rowOf[h] = row;
    return h;
  }

  private clear(): void {
    this.first.clear();
    this.files.clear();
    this.slots = [];
    this.freeSlots = [];
    this.holders = 0;
    this.freeHolder = -1;
  }
}

/** Files taken out at once from which the index starts over rather than take their rows out (`CopyIndex.sync`). */
const MASS_DROP_FILES = 8;

/**
 * A Map by string split over SHARDS Maps by the key's last characters: one Map of ~270,000 message ids (2,000
 * transcripts) rehashed everything at each growth, in one go (up to ~50 ms); a shard's growth is 1/64 of that.
 */
class ShardedMap<V> {
  private readonly shards = Array.from({ length: SHARDS }, () => new Map<string, V>());
  private shard(key: string): Map<string, V> {
    const n = key.length;
    const h = n === 0 ? 0 : key.charCodeAt(n - 1) * 31 + (n > 1 ? key.charCodeAt(n - 2) : 0);
    return this.shards[h & (SHARDS - 1)];
  }
  get(key: string): V | undefined {
    return this.shard(key).get(key);
  }
  set(key: string, v: V): void {
    this.shard(key).set(key, v);
  }
  delete(key: string): void {
    this.shard(key).delete(key);
  }
  clear(): void {
    for (const m of this.shards) m.clear();
  }
}
const SHARDS = 64;

/** Marks the copies among files read together once (the CLI): `CopyIndex.sync` of a fresh index. */
export function markCopies(sources: readonly CopySource[]): Set<string> {
  return new CopyIndex().sync(sources);
}
