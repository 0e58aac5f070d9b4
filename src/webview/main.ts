/**
 * Entry of the dashboard webview (bundled to dist/webview.js). Posts `ready`, then draws every snapshot the host
 * sends; host messages are shape-checked and trace text only ever reaches the page as text.
 */
import { Dashboard } from './dashboard';
import { parseToWebview } from './messages';
import { watchTheme } from './theme';
import { readUiState } from './vscodeApi';

const vscode = acquireVsCodeApi();
const root = document.getElementById('app') ?? document.body.appendChild(document.createElement('main'));
let dashboard: Dashboard | undefined;

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const msg = parseToWebview(event.data);
  if (!msg) return;
  switch (msg.type) {
    case 'loading':
      // Before the first snapshot the shell already says it is loading.
      dashboard?.setLoading(msg.loading);
      break;
    case 'whatIf':
      dashboard?.showWhatIf(msg.answer, msg.error);
      break;
    case 'snapshot':
      dashboard ??= new Dashboard(root, vscode, readUiState(vscode.getState()));
      dashboard.render(msg.snapshot);
      break;
  }
});

let scrollQueued = false;
window.addEventListener(
  'scroll',
  () => {
    if (scrollQueued) return;
    scrollQueued = true;
    setTimeout(() => {
      scrollQueued = false;
      dashboard?.saveScroll();
    }, 150);
  },
  { passive: true },
);

watchTheme(() => dashboard?.onThemeChange());

vscode.postMessage({ type: 'ready' });
