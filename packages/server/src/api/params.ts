import { z } from "@hono/zod-openapi";
import { MAX_ID_LENGTH } from "@reev/db";
import { closestWord, didYouMean } from "@reev/orchestrator";

/** An id in a path: any text a stored id can be (unicode included), up to the longest one. */
export const idParam = (name: string, description: string) =>
  z
    .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be text") })
    .min(1)
    .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
    .openapi({ param: { name, in: "path" }, description });

export const ZExecutionIdParams = z.object({ id: idParam("id", "The execution id.") });

/** `?flag=true|false`, as query strings spell booleans. */
export const booleanQuery = (description: string) =>
  z
    .enum(["true", "false"], { error: "must be true or false" })
    .optional()
    .transform((v) => v === "true")
    .openapi({ description });

/**
 * A query parameter given more than once (`?limit=2&limit=3`) arrives as an array; every parameter
 * the API takes is one value, so it is a 400 that says so, not the field's own complaint about an
 * array ("must be a whole number"). Which of the values was meant is the client's to say.
 */
const givenOnce = <Field extends z.core.SomeType>(field: Field): z.ZodPreprocess<Field> =>
  z.preprocess((value, ctx) => {
    if (!Array.isArray(value)) return value;
    ctx.issues.push({
      code: "custom",
      input: value,
      message: `was given ${value.length === 2 ? "twice" : `${value.length} times`}; give it once`,
    });
    return value[0];
  }, field);

/**
 * An object of named inputs (a query string, a JSON body) that refuses a name it does not take, with
 * what it takes and the name a typo most likely meant: ignored, `?limt=2` or `"agnt"` would quietly
 * give the default instead. `takes` words the names it takes ("this route takes limit, cursor").
 */
export const strictFields = <Shape extends z.core.$ZodLooseShape>(shape: Shape, takes: (names: readonly string[]) => string) => {
  const names = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === "unrecognized_keys" ? `${takes(names)}.${didYouMean(closestWord(String(issue.keys[0]), names))}` : undefined,
  });
};

/** A route's query string: each parameter given once, and none it does not take (see strictFields). */
export const queryOf = <Shape extends z.ZodRawShape>(shape: Shape) => {
  const once = Object.fromEntries(Object.entries(shape).map(([name, field]) => [name, givenOnce(field)]));
  return strictFields(once as { [Name in keyof Shape]: z.ZodPreprocess<Shape[Name]> }, (names) =>
    names.length ? `this route takes ${names.join(", ")}` : "this route takes no query parameters",
  );
};

/** The query of a route that takes none. */
export const ZNoQuery = queryOf({});
