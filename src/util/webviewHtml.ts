/**
 * The dashboard's fixed HTML shell: a strict Content-Security-Policy with a per-load nonce, one bundled script and one
 * stylesheet, no inline script, no handlers, no data. Pure, so tests render exactly what the panel serves.
 */
export interface WebviewHtmlParts {
  /** `webview.cspSource`: the origin of the extension's own resources. */
  cspSource: string;
  /** A fresh random nonce (base64/hex) for this load. */
  nonce: string;
  scriptUri: string;
  styleUri: string;
  title?: string;
}

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function dashboardHtml(p: WebviewHtmlParts): string {
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${p.nonce}'`,
    `style-src ${p.cspSource}`,
    `img-src ${p.cspSource}`,
    `font-src ${p.cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(p.styleUri)}">
<title>${attr(p.title ?? 'LLM Cost Dashboard')}</title>
</head>
<body>
<main id="app" aria-busy="true"><p class="loading">Loading cost data…</p></main>
<script nonce="${attr(p.nonce)}" src="${attr(p.scriptUri)}"></script>
</body>
</html>
`;
}
