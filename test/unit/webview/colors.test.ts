import * as assert from 'node:assert/strict';
import { contrastRatio, labelColorOn, parseColor } from '../../../src/webview/colors';

describe('webview theme: a label written on a bar', () => {
  const rgb = (c: string) => parseColor(c)!.slice(0, 3);
  it('is black or white, whichever reads better on an opaque bar', () => {
    assert.equal(labelColorOn('#ffff00', '#1e1e1e'), '#000000');
    assert.equal(labelColorOn('#0000aa', '#ffffff'), '#ffffff');
    assert.equal(labelColorOn('not a colour', '#ffffff'), undefined);
  });

  it('judges a translucent bar as it shows, blended over the background', () => {
    // Light+'s (unattributed) grey at 60% on white shows as #a0a0a0: black reads at 8:1, white at 2.6:1.
    for (const [bar, bg] of [['rgba(97, 97, 97, 0.6)', '#ffffff'], ['rgba(97, 97, 97, 0.35)', '#ffffff'], ['rgba(204, 204, 204, 0.35)', '#1e1e1e']]) {
      const fg = labelColorOn(bar, bg)!;
      const [r, g, b, a] = parseColor(bar)!;
      const shown = [r, g, b].map((v, i) => v * a + rgb(bg)[i] * (1 - a));
      const other = fg === '#000000' ? '#ffffff' : '#000000';
      assert.ok(contrastRatio(shown, rgb(fg)) > contrastRatio(shown, rgb(other)), `${bar} on ${bg}: ${fg}`);
      assert.ok(contrastRatio(shown, rgb(fg)) >= 4.5, `${bar} on ${bg}: ${fg} reads at ${contrastRatio(shown, rgb(fg)).toFixed(2)}:1`);
    }
  });
});
