import './style.css';
import { h } from './dom.ts';
import { comparePage } from './pages/compare.ts';
import { dataPage } from './pages/data.ts';
import { jobPage } from './pages/job.ts';
import { jobsPage } from './pages/jobs.ts';
import { ApiRequestError, needsToken, setToken, tokenMissing } from './session.ts';

/**
 * The dashboard: one page per hash route (`#/jobs`, `#/jobs/<id>`, `#/compare?jobs=a,b`, `#/data`), so the server
 * serves one document and the routes survive a reload. A page renders into <main> and returns what stops it (its
 * event stream, its timers) when the route changes.
 */
export interface PageContext {
  main: HTMLElement;
  params: URLSearchParams;
  /** Show an error; a missing or wrong token brings up the token form instead. */
  fail(err: unknown): void;
}
export type Page = (ctx: PageContext, ...path: string[]) => (() => void) | void;

const main = document.getElementById('main')!;
let stop: (() => void) | void;

function route(): void {
  stop?.();
  stop = undefined;
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name = 'jobs', ...rest] = path.split('/').filter(Boolean).map(decodeURIComponent);
  const pages: Record<string, Page> = { jobs: jobsPage, compare: comparePage, data: dataPage };
  const page = name === 'jobs' && rest.length > 0 ? jobPage : pages[name];
  for (const link of Array.from(document.querySelectorAll<HTMLAnchorElement>('nav a'))) {
    if (link.getAttribute('href') === `#/${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  main.replaceChildren();
  if (!page) {
    main.append(h('h1', {}, 'Not found'), h('p', {}, `No page "${name}". `, h('a', { href: '#/jobs' }, 'Go to the jobs.')));
    return;
  }
  if (tokenMissing()) {
    askForToken(null);
    return;
  }
  let asked = false;
  const ctx: PageContext = {
    main,
    params: new URLSearchParams(query),
    fail(err) {
      if (needsToken(err)) {
        if (!asked) {
          asked = true;
          stop?.();
          askForToken(err as ApiRequestError);
        }
        return;
      }
      showError(err);
    },
  };
  stop = page(ctx, ...rest);
}

/** The token form: asked once per tab (the token then lives in sessionStorage), and again only if it is refused. */
function askForToken(err: ApiRequestError | null): void {
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true, spellcheck: 'false' });
  const form = h(
    'form',
    {
      class: 'token-form',
      onsubmit: (e: Event) => {
        e.preventDefault();
        setToken(input.value.trim());
        route();
      },
    },
    h('h1', {}, 'API token'),
    h('p', {}, 'This server asks for a token (', h('code', {}, 'server.token'), ' or ', h('code', {}, 'UNILAB_API_TOKEN'), '). It is kept in this tab only.'),
    err?.message.includes('wrong') ? h('p', { class: 'error', role: 'alert' }, 'That token was refused.') : null,
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Continue'),
  );
  main.replaceChildren(form);
  input.focus();
}

function showError(err: unknown): void {
  const message = err instanceof ApiRequestError ? `${err.message}${err.path ? ` (${err.path})` : ''}` : (err as Error)?.message ?? String(err);
  let box = main.querySelector<HTMLElement>('.error[role=alert]');
  if (!box) {
    box = h('p', { class: 'error', role: 'alert' });
    main.prepend(box);
  }
  box.textContent = message;
}

window.addEventListener('hashchange', route);
route();
