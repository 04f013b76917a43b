/** "1 execution", "2 executions": a count with its noun in the number it takes, for every message reev writes. */
export const counted = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A number with thousands separators ("49,900"): the figures of one run, which can be large. */
export const grouped = (n: number) => n.toLocaleString("en-US");

/** `counted` with thousands separators: "49,900 tool calls". */
export const countedGrouped = (n: number, one: string, many = `${one}s`) => `${grouped(n)} ${n === 1 ? one : many}`;
