/** Tiny DOM helpers: every string becomes a text node or an attribute value, never markup. */

type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (/^on/i.test(k)) throw new Error(`event attribute ${k} not allowed`);
    e.setAttribute(k, v);
  }
  append(e, children);
  return e;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
}

/** Replaces the children of `parent` with `children`. */
export function setChildren(parent: Node, ...children: Child[]): void {
  const frag = document.createDocumentFragment();
  append(frag, children);
  (parent as Element).replaceChildren(frag);
}

export function setText(e: Element, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}

/** A table: caption, header cells and rows of text cells (numeric columns right-aligned). */
export function simpleTable(caption: string, headers: string[], rows: string[][], numericFrom = 1): HTMLTableElement {
  const t = el('table', { class: 'data' }, el('caption', {}, caption));
  const head = el('tr');
  headers.forEach((h, i) => head.appendChild(el('th', { scope: 'col', class: i >= numericFrom ? 'num' : undefined }, h)));
  t.appendChild(el('thead', {}, head));
  const body = el('tbody');
  for (const r of rows) {
    const tr = el('tr');
    r.forEach((c, i) => tr.appendChild(i === 0 ? el('th', { scope: 'row' }, c) : el('td', { class: i >= numericFrom ? 'num' : undefined }, c)));
    body.appendChild(tr);
  }
  t.appendChild(body);
  return t;
}
