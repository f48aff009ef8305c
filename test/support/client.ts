import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print, type GraphQLFormattedError } from "graphql";

export interface GraphQLResponse<T> {
  readonly status: number;
  readonly data?: T | null;
  readonly errors?: readonly GraphQLFormattedError[];
}

/** A plain GraphQL-over-HTTP client with typed documents from codegen. */
export class GraphQLClient {
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async request<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Promise<GraphQLResponse<T>> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
      },
      body: JSON.stringify({ query: print(document), variables }),
    });
    const body = (await response.json()) as { data?: T | null; errors?: GraphQLFormattedError[] };
    return { status: response.status, ...body };
  }

  /** The data, or a thrown error listing what the server said. */
  async ok<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Promise<T> {
    const result = await this.request(document, variables);
    if (result.errors?.length || !result.data) {
      throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
    }
    return result.data;
  }

  /** The first error, which must exist; its code is what most rejection tests compare. */
  async fail<T, V>(document: TypedDocumentNode<T, V>, variables?: V): Promise<{ code: unknown; message: string; field: unknown }> {
    const result = await this.request(document, variables);
    const error = result.errors?.[0];
    if (!error) throw new Error(`expected an error, got data ${JSON.stringify(result.data)}`);
    return { code: error.extensions?.code, message: error.message, field: error.extensions?.field };
  }

  /** A raw query string, for documents codegen cannot type (malformed or hostile input). */
  async raw(query: string, variables?: unknown): Promise<GraphQLResponse<unknown>> {
    const response = await fetch(this.url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as object) };
  }
}
