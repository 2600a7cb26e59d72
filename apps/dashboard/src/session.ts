import { ApiClient, ApiRequestError } from '@unilab/api/client';

/**
 * The page's one API client, on its own origin (the server that serves it), with the bearer token the user gave.
 * The token lives in sessionStorage: asked for once per tab, gone when the tab closes, never in a URL or a cookie
 * (a cookie would ride along on other sites' requests; a header does not).
 */
const TOKEN_KEY = 'unilab.token';

let client = new ApiClient(location.origin, sessionStorage.getItem(TOKEN_KEY) ?? undefined);

export const api = (): ApiClient => client;

/** The server said (in the page it served) that its job routes want a token, and this tab has none yet. */
export const tokenMissing = (): boolean => document.querySelector<HTMLMetaElement>('meta[name="unilab-auth"]')?.content === 'bearer' && !client.token;

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  client = new ApiClient(location.origin, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  client = new ApiClient(location.origin);
}

/** The server wants a token and the page has none, or a wrong one. */
export const needsToken = (err: unknown): boolean => err instanceof ApiRequestError && err.status === 401;

export { ApiRequestError };
