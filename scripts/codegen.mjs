// Typed documents from schema.graphql for every target of codegen.ts (run with tsx's loader,
// which reads the TypeScript config), with graphql-codegen's client preset. Called as a library
// rather than through @graphql-codegen/cli, whose loaders (URL, git, GitHub, Apollo) need
// Node 22 and are not used here.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { codegen } from "@graphql-codegen/core";
import { preset } from "@graphql-codegen/client-preset";
import { buildSchema, parse } from "graphql";
import config from "../codegen.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const schemaText = readFileSync(join(root, config.schema), "utf8");

/** Every *.graphql file under a folder, in a stable order. */
function graphqlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".graphql"))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    .sort();
}

for (const [outputDir, target] of Object.entries(config.generates)) {
  const documents = target.documents.flatMap((dir) =>
    graphqlFiles(join(root, dir)).map((location) => {
      const rawSDL = readFileSync(location, "utf8");
      return { location, rawSDL, document: parse(rawSDL) };
    }),
  );
  const outputs = await preset.buildGeneratesSection({
    baseOutputDir: outputDir,
    plugins: [],
    pluginMap: {},
    schema: parse(schemaText),
    schemaAst: buildSchema(schemaText),
    documents,
    config: target.config,
    presetConfig: { fragmentMasking: false },
    pluginContext: {},
  });
  for (const output of outputs) {
    const file = join(root, output.filename);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, await codegen(output));
  }
}
