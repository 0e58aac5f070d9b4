import * as assert from 'node:assert/strict';
import { failureText, MAX_FAILURE_TEXT, parseDashboardCommand, parseDashboardFailure } from '../../../src/core/dashboardMessages';

describe('dashboard messages beside the shared protocol', () => {
  it('accepts only the listed commands, with models for the prices file', () => {
    assert.deepEqual(parseDashboardCommand({ type: 'command', command: 'pickFile' }), { type: 'command', command: 'pickFile' });
    assert.deepEqual(parseDashboardCommand({ type: 'command', command: 'openPricesFile', models: ['acme-1', '<b>x</b>'] }), { type: 'command', command: 'openPricesFile', models: ['acme-1', '<b>x</b>'] });
    // Models are only for the prices file; elsewhere they are dropped.
    assert.deepEqual(parseDashboardCommand({ type: 'command', command: 'showOutput', models: ['a'] }), { type: 'command', command: 'showOutput' });
    for (const bad of [
      { type: 'command', command: 'workbench.action.terminal.new' },
      { type: 'command', command: 'llmCostLens.pickFile' },
      { type: 'command' },
      { type: 'command', command: 'openPricesFile', models: 'a' },
      { type: 'command', command: 'openPricesFile', models: [1] },
      { type: 'command', command: 'openPricesFile', models: [''] },
      { type: 'command', command: 'openPricesFile', models: ['x'.repeat(201)] },
      { type: 'command', command: 'openPricesFile', models: new Array(51).fill('m') },
      { type: 'setQuery', command: 'pickFile' },
      null,
      'command',
    ]) {
      assert.equal(parseDashboardCommand(bad), undefined, JSON.stringify(bad));
    }
  });

  it('checks failures from the host and keeps their text short', () => {
    assert.deepEqual(parseDashboardFailure({ type: 'failed', request: 'export', message: 'EACCES' }), { type: 'failed', request: 'export', message: 'EACCES' });
    assert.deepEqual(parseDashboardFailure({ type: 'failed', request: 'snapshot' }), { type: 'failed', request: 'snapshot', message: 'unknown error' });
    assert.equal(parseDashboardFailure({ type: 'failed', request: 'bogus', message: 'x' }), undefined);
    assert.equal(parseDashboardFailure({ type: 'snapshot' }), undefined);
    assert.equal(parseDashboardFailure({ type: 'failed', request: 'export', message: 'x'.repeat(5000) })!.message.length, MAX_FAILURE_TEXT);
  });

  it('says why something failed on one line', () => {
    assert.equal(failureText(new Error("EACCES: permission denied,\n  open '/ro/x.csv'")), "EACCES: permission denied, open '/ro/x.csv'");
    assert.equal(failureText('worker exited'), 'worker exited');
    assert.equal(failureText(undefined), 'undefined');
    assert.equal(failureText(new Error('')), 'unknown error');
  });
});
