/** Numbers as the reports print them: thousands separated, precision that shrinks as values grow. */

export const ms = (v: number) =>
  Number.isNaN(v) ? "—" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v >= 10 ? v.toFixed(1) : v.toFixed(2);
/** A rate or a count, rounded. */
export const whole = (v: number) => Math.round(v).toLocaleString("en-US");
/** A ratio. */
export const x = (v: number) => `${v.toFixed(2)}×`;
