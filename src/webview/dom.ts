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

/**
 * Wraps a horizontally scrolling box in a frame that shows what is out of view: `more-left` / `more-right` classes on
 * the frame (edge shadows in media/dashboard.css) and `hint` shown while anything is. Follows scrolling and resizing.
 */
export function scrollFrame(scroller: HTMLElement, hint?: HTMLElement): HTMLElement {
  const frame = el('div', { class: 'scroll-frame' }, scroller);
  const sync = () => {
    const max = scroller.scrollWidth - scroller.clientWidth;
    const left = max > 1 && scroller.scrollLeft > 1;
    const right = max > 1 && scroller.scrollLeft < max - 1;
    frame.classList.toggle('more-left', left);
    frame.classList.toggle('more-right', right);
    if (hint) hint.hidden = !(left || right);
  };
  scroller.addEventListener('scroll', sync, { passive: true });
  const ro = new ResizeObserver(sync);
  ro.observe(scroller);
  // The table inside grows with a snapshot's rows and labels.
  new MutationObserver(() => {
    for (const c of scroller.children) ro.observe(c);
    sync();
  }).observe(scroller, { childList: true });
  for (const c of scroller.children) ro.observe(c);
  if (hint) hint.hidden = true;
  return frame;
}
