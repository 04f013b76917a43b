/**
 * Characters that end or re-interpret a Mermaid statement somewhere in stateDiagram-v2: quotes
 * close `state "…"`, `:` `;` end labels and notes, `#` and `%%` start comments, `%%{` starts a
 * directive, `<` `>` `&` are HTML, `[[fork]]` `{` `}` change the statement kind, a backtick
 * starts a Markdown string, and the last four are the private placeholders Mermaid itself uses
 * while decoding `#code;` entities. Encoding `:` everywhere also keeps Mermaid's own
 * `style…:…#…;` pre-pass from eating a character of a label.
 */
const SPECIAL = /["#;:%<>&{}[\]`\uFB02\u00B0\u00B6\u00DF]/gu;

/** Newlines, tabs, other control characters and Unicode line/paragraph separators. */
const BREAKS = /[\s\p{Cc}]+/gu;

/**
 * One line of user text made safe for any Mermaid label, note or state description. Mermaid
 * turns `#NN;` back into the character, so readers still see the original text.
 */
export function escapeMermaidText(text: string): string {
  return (
    text
      .toWellFormed()
      .replace(BREAKS, " ")
      .trim()
      .replace(SPECIAL, (char) => `#${char.codePointAt(0)};`)
      // The state-diagram lexer treats a line containing `direction LR` as a direction statement
      // and silently drops the rest; an encoded space keeps the words but not the keyword.
      .replace(/(direction)\s+(?=TB|BT|RL|LR)/giu, "$1#32;")
  );
}
