import type { JsonValue } from "@reev/db";
import { formatIssuePath } from "@reev/db";

/**
 * Where `actual` fails to contain `expected`, in plain words (`input.amount is 3, expected 2`), or
 * null when it contains it. "Contains" is the rule of Jest's `toMatchObject`, which most users of a
 * TypeScript tool already know:
 * - an object contains the expected object when it has every expected key (its own, not inherited)
 *   and each value contains the expected value; extra keys are ignored, so `{ amount: 2 }` matches
 *   `{ amount: 2, slippageBps: 50 }`;
 * - an array contains the expected array only with the same length, element by element in order
 *   (each element compared by these rules): a list of route legs or recipients is a value whose order
 *   and length matter, and "contains some of" would let a wrong list pass;
 * - a string, number, boolean or null only equals itself, with no conversion: `"2"` is not `2`,
 *   and an expected `null` needs the key present with `null`, not absent.
 *
 * `path` names the root (`input`) in the description.
 */
export function findSubsetMismatch(expected: JsonValue, actual: unknown, path: readonly PropertyKey[] = ["input"]): string | null {
  const where = formatIssuePath(path);
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${where} is ${describe(actual)}, expected an array of ${expected.length}`;
    if (actual.length !== expected.length) return `${where} has ${actual.length} items, expected ${expected.length}`;
    for (const [index, item] of expected.entries()) {
      const mismatch = findSubsetMismatch(item, actual[index], [...path, index]);
      if (mismatch) return mismatch;
    }
    return null;
  }
  if (expected !== null && typeof expected === "object") {
    if (!isPlainObject(actual)) return `${where} is ${describe(actual)}, expected an object`;
    for (const [key, value] of Object.entries(expected)) {
      if (!Object.hasOwn(actual, key)) return `${formatIssuePath([...path, key])} is missing`;
      const mismatch = findSubsetMismatch(value, actual[key], [...path, key]);
      if (mismatch) return mismatch;
    }
    return null;
  }
  return actual === expected ? null : `${where} is ${describe(actual)}, expected ${JSON.stringify(expected)}`;
}

const MAX_DESCRIBED_CHARS = 60;

function describe(value: unknown): string {
  if (value === undefined) return "absent";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (isPlainObject(value)) return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_DESCRIBED_CHARS ? `${text.slice(0, MAX_DESCRIBED_CHARS)}…` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
