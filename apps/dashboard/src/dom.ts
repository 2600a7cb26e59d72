/** A few DOM helpers: elements from a tag, attributes and children; text is always set as text, never as HTML. */
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | number | boolean | ((e: Event) => void) | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  el.append(...children.filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false).map((c) => (typeof c === 'number' ? String(c) : c)));
  return el;
}

/** Tell screen-reader users what just happened (the live region in index.html). */
export function announce(text: string): void {
  const region = document.getElementById('announce')!;
  region.textContent = '';
  requestAnimationFrame(() => (region.textContent = text));
}

/**
 * Ask before something that cannot be undone, in the page's modal dialog: focus starts on the safe choice, Escape
 * keeps things as they are.
 */
export function confirmAction(title: string, text: string, action: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  document.getElementById('confirm-title')!.textContent = title;
  document.getElementById('confirm-text')!.textContent = text;
  const ok = document.getElementById('confirm-ok') as HTMLButtonElement;
  const no = document.getElementById('confirm-no') as HTMLButtonElement;
  ok.textContent = action;
  return new Promise((resolve) => {
    const finish = (answer: boolean) => {
      ok.removeEventListener('click', yes);
      no.removeEventListener('click', keep);
      dialog.removeEventListener('cancel', keep);
      dialog.close();
      resolve(answer);
    };
    const yes = () => finish(true);
    const keep = (e: Event) => {
      e.preventDefault();
      finish(false);
    };
    ok.addEventListener('click', yes);
    no.addEventListener('click', keep);
    dialog.addEventListener('cancel', keep);
    dialog.showModal();
    no.focus();
  });
}

export const fmt = {
  loss: (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(3) : '—'),
  int: (v: number | null | undefined) => (typeof v === 'number' ? v.toLocaleString('en-US') : '—'),
  compact: (v: number | null | undefined) => (typeof v === 'number' ? Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(v) : '—'),
  duration(ms: number | null): string {
    if (ms === null || !Number.isFinite(ms) || ms < 0) return '—';
    const s = Math.round(ms / 1000);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  },
};
