import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  type GraphQLSchema,
} from "graphql";
import { describe, expect, it } from "vitest";
import { sortedSchema } from "../../src/schema/index.js";

// Names of the systems Hookgate grows from: the README maps them; the schema describes behaviour.
const CLIENT_NAMES = /basalam|thulium|green[ -]?api|whatsapp/i;

interface Described {
  readonly path: string;
  readonly description: string | null | undefined;
}

/** Every type, field, argument, input field and enum value a client reads in GraphiQL's docs. */
export function describedElements(schema: GraphQLSchema): Described[] {
  const out: Described[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    out.push({ path: type.name, description: type.description });
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        out.push({ path: `${type.name}.${field.name}`, description: field.description });
        for (const arg of field.args) out.push({ path: `${type.name}.${field.name}(${arg.name})`, description: arg.description });
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) out.push({ path: `${type.name}.${field.name}`, description: field.description });
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) out.push({ path: `${type.name}.${value.name}`, description: value.description });
    }
  }
  return out;
}

describe("schema documentation", () => {
  const elements = describedElements(sortedSchema());

  it("describes every type, field, argument, input field and enum value", () => {
    const missing = elements.filter((e) => !e.description?.trim()).map((e) => e.path);
    expect(missing, `these have no description (add one where the field is defined):\n${missing.join("\n")}`).toEqual([]);
  });

  it("describes behaviour, not the systems Hookgate grows from (the README maps those)", () => {
    const named = elements.filter((e) => e.description && CLIENT_NAMES.test(e.description)).map((e) => `${e.path}: ${e.description}`);
    expect(named).toEqual([]);
  });
});
