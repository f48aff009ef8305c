import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents for the tests (and any TypeScript client) and for the console, from
// schema.graphql, the committed, sorted print of the Pothos schema.
const config: CodegenConfig = {
  schema: "schema.graphql",
  emitLegacyCommonJSImports: false,
  generates: {
    "test/generated/": {
      documents: ["test/documents/**/*.graphql"],
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "unknown", ID: "string" },
        strictScalars: true,
      },
    },
    // The console's documents as strings with their types (documentMode "string"): its small
    // fetch/graphql-ws client sends the text as is, so the bundle needs no GraphQL parser.
    // Committed, so a production install (without the code generator) still builds the console.
    "console/src/gql/": {
      documents: ["console/src/documents/**/*.graphql"],
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        documentMode: "string",
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "unknown", ID: "string" },
        strictScalars: true,
      },
    },
  },
};

export default config;
