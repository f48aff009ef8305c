// Typed documents for the tests (and any TypeScript client): test/documents/*.graphql against
// schema.graphql (the committed, sorted print of the Pothos schema), with graphql-codegen's client
// preset. Called as a library rather than through @graphql-codegen/cli, whose loaders (URL, git,
// GitHub, Apollo) need Node 22 and are not used here.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { codegen } from "@graphql-codegen/core";
import { preset } from "@graphql-codegen/client-preset";
import { buildSchema, parse } from "graphql";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schemaText = readFileSync(join(root, "schema.graphql"), "utf8");
const documentsDir = join(root, "test", "documents");
const documents = readdirSync(documentsDir)
  .filter((name) => name.endsWith(".graphql"))
  .sort()
  .map((name) => {
    const location = join(documentsDir, name);
    const rawSDL = readFileSync(location, "utf8");
    return { location, rawSDL, document: parse(rawSDL) };
  });

const config = {
  emitLegacyCommonJSImports: false,
  useTypeImports: true,
  enumsAsTypes: true,
  scalars: { DateTime: "string", JSON: "unknown", ID: "string" },
  strictScalars: true,
};
const outputs = await preset.buildGeneratesSection({
  baseOutputDir: "test/generated/",
  plugins: [],
  pluginMap: {},
  schema: parse(schemaText),
  schemaAst: buildSchema(schemaText),
  documents,
  config,
  presetConfig: { fragmentMasking: false },
  pluginContext: {},
});
for (const output of outputs) {
  const file = join(root, output.filename);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, await codegen(output));
}
