import { Api } from "./api/client";
import { MeDocument, type MeQuery } from "./gql/graphql";

export type Me = MeQuery["me"];

/** The token lives in sessionStorage: it goes when the tab closes, and is never in a URL. */
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

/** Asks the gateway who the token is; an invalid token rejects with the API's UNAUTHENTICATED. */
export async function signIn(token: string): Promise<{ api: Api; me: Me }> {
  const api = new Api(token);
  const { me } = await api.request(MeDocument, {});
  return { api, me };
}
