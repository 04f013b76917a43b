import Ajv2020 from "ajv/dist/2020.js";
import { expect } from "vitest";

type OpenApiDocument = {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
  components?: { schemas?: Record<string, object> };
};

const ajv = new Ajv2020.default({ strict: false, validateFormats: false, allErrors: true });

/** Asserts `body` matches the JSON schema the OpenAPI document gives for this route, status and content type. */
export function expectMatchesOpenApi(
  doc: OpenApiDocument,
  route: { method: string; path: string; status: number; contentType?: string },
  body: unknown,
): void {
  const operation = doc.paths[route.path]?.[route.method];
  expect(operation, `${route.method} ${route.path} is in the OpenAPI document`).toBeDefined();
  const schema = operation?.responses[String(route.status)]?.content?.[route.contentType ?? "application/json"]?.schema;
  expect(schema, `${route.method} ${route.path} documents a ${route.status} response`).toBeDefined();
  const validate = ajv.compile({ ...schema, components: doc.components });
  const valid = validate(body);
  expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
  expect(valid).toBe(true);
}
