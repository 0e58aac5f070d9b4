import * as assert from 'node:assert/strict';
import { formatPct, formatTokens, formatUsd } from '../../../src/core/format';

describe('format', () => {
  it('prints dollars with a precision that fits the amount, and unpriced for no price', () => {
    assert.equal(formatUsd(1234.567), '$1,234.57');
    assert.equal(formatUsd(12.3), '$12.30');
    assert.equal(formatUsd(0.0123), '$0.0123');
    assert.equal(formatUsd(0.00045), '$0.00045');
    assert.equal(formatUsd(0), '$0.00');
    assert.equal(formatUsd(-2), '-$2.00');
    assert.equal(formatUsd(NaN), 'unpriced');
    assert.equal(formatUsd(null), 'unpriced');
  });
  it('prints ratios and token counts', () => {
    assert.equal(formatPct(0.823), '82%');
    assert.equal(formatPct(0.0123), '1.2%');
    assert.equal(formatTokens(950), '950');
    assert.equal(formatTokens(12_345), '12k');
    assert.equal(formatTokens(4_500_000), '4.5M');
  });
});
