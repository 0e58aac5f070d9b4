import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers';

describe('architecture', () => {
  it('src/core imports neither vscode, the DOM, nor node:fs', () => {
    const dir = join(ROOT, 'src', 'core');
    const offenders: string[] = [];
    for (const f of readdirSync(dir)) {
      const text = readFileSync(join(dir, f), 'utf8');
      if (/from ['"]vscode['"]|require\(['"]vscode['"]\)|from ['"](node:)?fs['"]|\bdocument\.|\bwindow\./.test(text)) offenders.push(f);
    }
    assert.deepEqual(offenders, []);
  });
});
