/**
 * Entry of the dashboard webview (bundled to dist/webview.js). Posts `ready`, then draws every snapshot the host
 * sends; host messages are shape-checked and trace text only ever reaches the page as text.
 */
import { Dashboard, failureLine } from './dashboard';
import { el, setChildren } from './dom';
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
      dashboard?.hostLoading(msg.loading);
      break;
    case 'failed':
      if (dashboard) dashboard.showFailure(msg);
      else {
        // No figures yet: the shell's "Loading cost data…" becomes why there are none.
        root.setAttribute('aria-busy', 'false');
        setChildren(root, el('p', { class: 'loading', role: 'alert' }, failureLine(msg)));
      }
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
