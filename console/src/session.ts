import { Api } from "./api/client";
import { MeDocument, type MeQuery } from "./gql/graphql";

export type Me = MeQuery["me"];

/**
 * The token lives in sessionStorage: it goes when the tab closes, and is never in a URL (a portal
 * link's token is taken out of the address bar at once, see takeFragmentToken).
 */
const KEY = "hookgate.token";

export function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(KEY, token);
    else sessionStorage.removeItem(KEY);
  } catch {
    // storage disabled: the session lasts as long as the page
  }
}

/**
 * A portal link's token: /console/#session=<token>. The fragment never reaches a server; it is
 * removed from the address bar (and so from history and bookmarks) as soon as it is read.
 */
export function takeFragmentToken(): string | undefined {
  const match = /(?:^#|&)session=([^&]+)/.exec(location.hash);
  if (!match) return undefined;
  history.replaceState(history.state, "", location.pathname + location.search);
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

/** What to tell the user when the gateway stops taking the token. */
export function sessionEndNotice(message: string): string {
  return /expired/i.test(message)
    ? "Your session has expired. Open a new portal link, or sign in with a token."
    : `Your session ended: ${message}`;
}

/** A signed-in session: the API client, who the token is, and when that was read (Date.now()). */
export interface Session {
  api: Api;
  me: Me;
  at: number;
}

/** Asks the gateway who the token is; an invalid token rejects with the API's UNAUTHENTICATED. */
export async function signIn(token: string): Promise<Session> {
  const api = new Api(token);
  const { me } = await api.request(MeDocument, {});
  return { api, me, at: Date.now() };
}

/**
 * How long until a portal session ends, in ms by this browser's clock: the seconds the gateway
 * said were left (by its own clock, so a skewed browser clock does not matter), less the time
 * since it said so. undefined for a token that does not expire.
 */
export function sessionTimeLeft(session: Session): number | undefined {
  const left = session.me.expiresInSeconds;
  return left === null || left === undefined ? undefined : Math.max(0, left * 1000 - (Date.now() - session.at));
}
