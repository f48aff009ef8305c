// Writes schema.graphql from the Pothos schema (sorted). test/schema/schema-file.test.ts fails when it is stale.
import { writeFileSync } from "node:fs";
import { printSchema } from "graphql";
import { sortedSchema } from "../src/schema/index.js";

writeFileSync(new URL("../schema.graphql", import.meta.url), printSchema(sortedSchema()) + "\n");
process.stdout.write("schema.graphql written\n");
