import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { jsonOrUndefined } from "./http.js";

export interface RestAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: unknown;
  readonly text: string;
}

export interface RestCall {
  /** A bearer token (Authorization: Bearer …). */
  readonly token?: string;
  /** HTTP Basic credentials, as curl -u user:password sends them. */
  readonly basic?: { readonly user: string; readonly password: string };
  /** A JSON body. */
  readonly body?: unknown;
  /** A body sent exactly as given (malformed JSON). */
  readonly rawBody?: string;
}

/** One REST call over real HTTP, the way the seed systems' clients make it (JSON in, JSON out). */
export async function rest(base: string, method: string, path: string, call: RestCall = {}): Promise<RestAnswer> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  if (call.basic) headers.authorization = `Basic ${Buffer.from(`${call.basic.user}:${call.basic.password}`).toString("base64")}`;
  const body = call.rawBody ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  if (body !== undefined) headers["content-type"] = "application/json; charset=utf-8";
  const response = await fetch(`${base}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, json: jsonOrUndefined(text), text };
}

/** The gateway's base URL (its GraphQL URL without /graphql). */
export const baseOf = (graphqlUrl: string): string => graphqlUrl.replace(/\/graphql$/, "");

/**
 * Validates bodies against the component schemas of an OpenAPI 3.1 document with ajv's JSON
 * Schema 2020-12 validator (OpenAPI 3.1's dialect), formats included.
 */
export function openApiSchemas(source: string | object): (schemaName: string, value: unknown) => string[] {
  const document = typeof source === "string" ? (JSON.parse(readFileSync(source, "utf8")) as object) : source;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(document, "openapi");
  return (schemaName, value) => {
    const validate = ajv.getSchema(`openapi#/components/schemas/${schemaName}`);
    if (!validate) throw new Error(`no schema ${schemaName} in the document`);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}
