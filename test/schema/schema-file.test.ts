import { readFileSync } from "node:fs";
import { printSchema } from "graphql";
import { describe, expect, it } from "vitest";
import { sortedSchema } from "../../src/schema/index.js";

const SCHEMA_FILE = new URL("../../schema.graphql", import.meta.url);

describe("schema.graphql", () => {
  it("is the schema the code builds (exactly what scripts/print-schema.ts writes)", () => {
    const built = printSchema(sortedSchema()) + "\n";
    const committed = readFileSync(SCHEMA_FILE, "utf8");
    expect(committed, "schema.graphql is stale: run `npm run schema:print` and commit the result").toBe(built);
  });
});
