import { basalamRoutes } from "./basalam/routes.js";
import { greenApiRoutes } from "./green-api.js";
import { openApiRoute } from "./openapi.js";
import { thuliumRoutes } from "./thulium.js";
import type { RestRoute } from "./route.js";
import { createRestRouter, type RestDeps, type RestRouter } from "./router.js";

// Every REST route of the gateway, in one list: the router serves them and /openapi.json
// describes them. A family of routes (a seed system's API) is one module exporting its list.

const FAMILIES: readonly (readonly RestRoute[])[] = [basalamRoutes, thuliumRoutes, greenApiRoutes];

export function restRoutes(): readonly RestRoute[] {
  const routes: RestRoute[] = FAMILIES.flat();
  routes.push(
    openApiRoute(() => routes, {
      title: "Hookgate REST API",
      version: "1.0.0",
      description: "Drop-in REST routes for the seed systems' clients, served by the same domain code, tokens and limits as the GraphQL API at /graphql.",
    }),
  );
  return routes;
}

export function createRest(deps: RestDeps): RestRouter {
  return createRestRouter(restRoutes(), deps);
}
