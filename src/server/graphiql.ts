import type { GraphiQLOptions } from "graphql-yoga";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";

/*
 * GraphiQL served from the installed package (@graphql-yoga/render-graphiql inlines its scripts,
 * styles and editor workers into the page), so it works on a gateway with no outbound internet:
 * yoga's default page loads them from a CDN and stays blank offline.
 */

/** What a new user sees first: where the token goes, and a query that answers with any token. */
const DEFAULT_QUERY = `# Welcome to Hookgate.
#
# Every request needs a token. Open the Headers tab below and put:
#   {"Authorization": "Bearer hg_admin_…"}
# (the admin token printed at first start, or a service or customer token).
# Then run this query (the ▶ button, or Ctrl-Enter); the Docs panel lists the whole API.

query FirstLook {
  me { kind }
  webhookEvents(page: 1, perPage: 10) { data { id name description } totalCount }
  events(first: 5) { edges { node { id eventName createdAt payload } } }
}

# Follow events live (Server-Sent Events, with the same headers), e.g. in a second tab:
# subscription { eventPublished { id eventName payload createdAt } }
`;

export const graphiqlOptions: GraphiQLOptions = {
  title: "Hookgate",
  // Server-Sent Events: GraphiQL sends the headers tab with each HTTP request, SSE included. Over
  // its websocket it would send them only inside each subscribe message, never in connection_init,
  // where the gateway reads the token (so every subscription was refused with 4403).
  subscriptionsProtocol: "SSE",
  defaultQuery: DEFAULT_QUERY,
  headers: JSON.stringify({ Authorization: "Bearer …" }, null, 2),
  // The headers tab open, so the token's place is in sight.
  defaultEditorToolsVisibility: "headers",
};

let page: string | undefined;

/** The page (about 9 MB, scripts inline) is rendered once per process: the options never change. */
export function renderOfflineGraphiQL(options: GraphiQLOptions): string {
  return (page ??= renderGraphiQL(options));
}
