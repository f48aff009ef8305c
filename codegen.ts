import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents for the tests (and any TypeScript client) from schema.graphql,
// the committed, sorted print of the Pothos schema.
const config: CodegenConfig = {
  schema: "schema.graphql",
  emitLegacyCommonJSImports: false,
  documents: ["test/documents/**/*.graphql"],
  generates: {
    "test/generated/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", JSON: "unknown", ID: "string" },
        strictScalars: true,
      },
    },
  },
};

export default config;
