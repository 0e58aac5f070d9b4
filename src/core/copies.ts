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

/** A row holding a message: its `message.id` is the holders' key, `req` its `requestId` ('' when none). */
interface Holder {
  path: string;
  table: CallTable;
  row: number;
  req: string;
}

/** What the index took of a file: its table, the rows below `length`, and the message id of each row taken. */
interface Taken {
  table: CallTable;
  length: number;
  keys: string[];
  rows: number[];
}

export class CopyIndex {
  /**
   * The rows of each message id (one holder, or several when files share the message). Keyed by the id alone, the
   * string the reading context already holds (its hash kept with it), not by id + requestId, which would build and hash
   * a new string per row (a third of a first sync's time over 2,000 transcripts); holders of one id with different
   * requestIds are different messages (`firstByRequest`).
   */
  private readonly holders = new ShardedMap<Holder | Holder[]>();
  private readonly files = new Map<string, Taken>();

  /**
   * Brings the marks up to date with `sources` (every file read, in any order): files no longer there, or read again
   * (another table), are taken out; rows appended since the last sync are taken in. Returns the paths of the files
   * whose marks changed (each change is an edit of its table, which views take in as a row replaced in place).
   */
  sync(sources: readonly CopySource[]): Set<string> {
    const now = new Map<string, CopySource>();
    for (const s of sources) if (s.ctx.claudeCode) now.set(s.path, s);
    const touched = new Set<string>();
    const gone: [string, Taken][] = [];
    for (const [path, f] of this.files) {
      const s = now.get(path);
      if (!s || s.table !== f.table || s.table.length < f.length) gone.push([path, f]);
    }
    // Most files gone or read again (a refresh: 2,000 transcripts' rows took ~0.3 s to take out one by one): the index
    // starts over, and the files left are taken in again whole (their rows touched, so their marks are made anew).
    if (gone.length >= MASS_DROP_FILES && gone.length * 2 >= this.files.size) {
      this.holders.clear();
      this.files.clear();
    } else for (const [path, f] of gone) this.drop(path, f, touched);
    for (const s of now.values()) {
      let f = this.files.get(s.path);
      if (!f) this.files.set(s.path, (f = { table: s.table, length: 0, keys: [], rows: [] }));
      if (s.table.length > f.length) this.take(s, f, touched);
    }
    // The marks each touched message's rows should have, by table (marked together: see CallTable.markCopies).
    const marks = new Map<CallTable, { path: string; rows: Map<number, boolean> }>();
    const mark = (x: Holder, copy: boolean) => {
      if (((x.table.flags[x.row] & FLAG_COPY) !== 0) === copy) return;
      let m = marks.get(x.table);
      if (!m) marks.set(x.table, (m = { path: x.path, rows: new Map() }));
      m.rows.set(x.row, copy);
    };
    for (const key of touched) {
      const h = this.holders.get(key);
      if (!h) continue;
      if (!Array.isArray(h)) {
        mark(h, false);
        continue;
      }
      const first = firstByRequest(h);
      for (const x of h) mark(x, x !== first.get(x.req));
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

  /** Takes in the message rows of `s` from `f.length` to its length. */
  private take(s: CopySource, f: Taken, touched: Set<string>): void {
    const from = f.length;
    const to = s.table.length;
    const requestIds = s.table.tags.get('requestId');
    const pool = s.table.pool;
    for (const [id, m] of s.ctx.messages) {
      const row = m.row;
      if (row < from || row >= to || !isClaudeMessageKey(id)) continue;
      const req = requestIds ? requestIds[row] : 0;
      const h: Holder = { path: s.path, table: s.table, row, req: req !== 0 ? pool.get(req) : '' };
      const had = this.holders.get(id);
      if (!had) this.holders.set(id, h);
      else if (Array.isArray(had)) had.push(h);
      else this.holders.set(id, [had, h]);
      f.keys.push(id);
      f.rows.push(row);
      touched.add(id);
    }
    f.length = to;
  }

  /** Takes a file's rows out (its table's marks are left as they are: the table is gone or read again). */
  private drop(path: string, f: Taken, touched: Set<string>): void {
    for (let k = 0; k < f.keys.length; k++) {
      const key = f.keys[k];
      const row = f.rows[k];
      const had = this.holders.get(key);
      const mine = (x: Holder) => x.table === f.table && x.row === row;
      if (!had) continue;
      if (!Array.isArray(had)) {
        if (mine(had)) this.holders.delete(key);
      } else {
        const rest = had.filter((x) => !mine(x));
        if (rest.length === 0) this.holders.delete(key);
        else this.holders.set(key, rest.length === 1 ? rest[0] : rest);
      }
      touched.add(key);
    }
    this.files.delete(path);
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

/** The holder that counts of each message among the holders of one id (by requestId): the one whose path sorts first. */
function firstByRequest(h: readonly Holder[]): Map<string, Holder> {
  const first = new Map<string, Holder>();
  for (const x of h) {
    const f = first.get(x.req);
    if (!f || x.path < f.path) first.set(x.req, x);
  }
  return first;
}

/** Marks the copies among files read together once (the CLI): `CopyIndex.sync` of a fresh index. */
export function markCopies(sources: readonly CopySource[]): Set<string> {
  return new CopyIndex().sync(sources);
}
