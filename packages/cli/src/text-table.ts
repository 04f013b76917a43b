/** Display width of a string: wide (CJK, emoji) code points take two terminal columns. */
export function displayWidth(text: string): number {
  let width = 0;
  let previous = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    // U+FE0F asks for emoji presentation: terminals then draw the previous character two wide.
    if (cp === 0xfe0f) {
      if (previous === 1) width += 1;
      previous = 0;
      continue;
    }
    if (cp >= 0x300 && cp < 0x370) continue;
    previous =
      cp >= 0x1100 &&
      (cp <= 0x115f ||
        (cp >= 0x2e80 && cp <= 0xa4cf) ||
        (cp >= 0xac00 && cp <= 0xd7a3) ||
        (cp >= 0xf900 && cp <= 0xfaff) ||
        (cp >= 0xff00 && cp <= 0xff60) ||
        (cp >= 0x1f300 && cp <= 0x1faff) ||
        cp === 0x2705 ||
        cp === 0x274c)
        ? 2
        : 1;
    width += previous;
  }
  return width;
}

/** Shortens to `max` columns by code points (never splitting one), marking the cut with "…". */
export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ");
  if (displayWidth(flat) <= max) return flat;
  let out = "";
  for (const ch of flat) {
    if (displayWidth(out + ch) > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

const pad = (text: string, width: number, right: boolean) => {
  const fill = " ".repeat(Math.max(0, width - displayWidth(text)));
  return right ? fill + text : text + fill;
};

/** A plain-text table; columns listed in `numeric` are right-aligned. */
export function renderTable(headers: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): string {
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, widths[i] ?? 0, numeric.has(i)))
      .join("  ")
      .trimEnd();
  return [line(headers), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Aligned `name  value` lines: one record's fields, the names padded to one column. */
export function renderFields(fields: readonly (readonly [name: string, value: string])[]): string {
  const width = Math.max(...fields.map(([name]) => displayWidth(name)));
  return fields.map(([name, value]) => `${pad(name, width, false)}  ${value}`).join("\n");
}
