/** "1 execution", "2 executions": a count with its noun in the number it takes, for every message reev writes. */
export const counted = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
