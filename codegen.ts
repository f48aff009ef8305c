// Typed documents for the tests (and any TypeScript client) and for the console, from
// schema.graphql, the committed, sorted print of the Pothos schema. scripts/codegen.mjs runs
// graphql-codegen's client preset over each target (as a library: @graphql-codegen/cli's
// loaders need Node 22 and none of them is used here).
export interface CodegenTarget {
  /** Folders of *.graphql documents, searched recursively. */
  readonly documents: readonly string[];
  readonly config: Record<string, unknown>;
}

const scalars = { DateTime: "string", JSON: "unknown", ID: "string" };

const config: { schema: string; generates: Record<string, CodegenTarget> } = {
  schema: "schema.graphql",
  generates: {
    "test/generated/": {
      documents: ["test/documents"],
      config: { emitLegacyCommonJSImports: false, useTypeImports: true, enumsAsTypes: true, scalars, strictScalars: true },
    },
    // The console's documents as strings with their types (documentMode "string"): its small
    // fetch/graphql-ws client sends the text as is, so the bundle needs no GraphQL parser.
    // Committed, so a production install (without the code generator) still builds the console.
    "console/src/gql/": {
      documents: ["console/src/documents"],
      config: {
        documentMode: "string",
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars,
        strictScalars: true,
      },
    },
  },
};

export default config;
