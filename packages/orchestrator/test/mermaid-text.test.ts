import { describe, expect, it } from "vitest";
import { escapeMermaidText } from "../src/mermaid/escape-mermaid-text.js";
import { StateIdRegistry, sanitizeIdPart } from "../src/mermaid/state-ids.js";
import { summarizeInput } from "../src/mermaid/summarize-input.js";
import { graphemes, truncateText } from "../src/mermaid/truncate-text.js";

/** No lone surrogates: `\p{Cs}` only matches unpaired halves under the `u` flag. */
function isWellFormed(text: string): boolean {
  return !/\p{Cs}/u.test(text) && Buffer.from(text, "utf8").toString("utf8") === text;
}

describe("sanitizeIdPart", () => {
  it("keeps only [A-Za-z0-9_]", () => {
    expect(sanitizeIdPart("jupiter-swap")).toBe("jupiter_swap");
    expect(sanitizeIdPart("a.b c:d;e-->f")).toBe("a_b_c_d_e_f");
    expect(sanitizeIdPart("__x__")).toBe("x");
  });

  it("never returns an empty id (CJK, emoji, punctuation only)", () => {
    expect(sanitizeIdPart("获取余额")).toBe("x");
    expect(sanitizeIdPart("🚀🚀")).toBe("x");
    expect(sanitizeIdPart("")).toBe("x");
  });

  it("caps the length", () => {
    expect(sanitizeIdPart("a".repeat(500))).toHaveLength(32);
  });
});

describe("StateIdRegistry", () => {
  it("keeps names that sanitise alike as distinct ids", () => {
    const ids = new StateIdRegistry();
    const a = ids.claim("s0", "jupiter-swap");
    const b = ids.claim("s0", "jupiter_swap");
    const c = ids.claim("s0", "jupiter.swap");
    expect(a).toBe("s0_jupiter_swap");
    expect(new Set([a, b, c]).size).toBe(3);
    for (const id of [a, b, c]) expect(id).toMatch(/^[A-Za-z0-9_]+$/);
  });

  it("does not hand out a suffixed id that a later natural id needs", () => {
    const ids = new StateIdRegistry();
    const first = ids.claim("x");
    const second = ids.claim("x");
    const natural = ids.claim("x_2");
    expect(new Set([first, second, natural]).size).toBe(3);
  });

  it("treats ids differing only in case as clashing", () => {
    const ids = new StateIdRegistry();
    expect(ids.claim("Step")).toBe("Step");
    expect(ids.claim("step")).toBe("step_2");
  });
});

describe("escapeMermaidText", () => {
  it("encodes every character with a Mermaid meaning as #code;", () => {
    expect(escapeMermaidText(`a "b": c; #d %% {e} <f> & [[fork]] \``)).toBe(
      "a #34;b#34;#58; c#59; #35;d #37;#37; #123;e#125; #60;f#62; #38; #91;#91;fork#93;#93; #96;",
    );
  });

  it("leaves no raw character that could end a label, note or state string", () => {
    const nasty = `"quotes" : colons :: ; semis --> arrows %%{init: {}}%% # hash <script>x</script> & [[choice]] \`md\``;
    expect(escapeMermaidText(nasty)).not.toMatch(/[":%<>&{}[\]`]|#(?!\d+;)|;(?<!#\d+;)/);
  });

  it("flattens newlines, tabs, control and separator characters to single spaces", () => {
    expect(escapeMermaidText("a\nb\r\nc\td\u2028e\u2029f\u0000g  h")).toBe("a b c d e f g h");
    expect(escapeMermaidText("  padded\n")).toBe("padded");
  });

  it("keeps emoji and CJK as they are", () => {
    expect(escapeMermaidText("中文 🚀 👨‍👩‍👧‍👦 🧑🏽‍🚀")).toBe("中文 🚀 👨‍👩‍👧‍👦 🧑🏽‍🚀");
  });

  it("defuses the `direction LR` statement the lexer finds anywhere on a line", () => {
    expect(escapeMermaidText("go direction LR now")).toBe("go direction#32;LR now");
    expect(escapeMermaidText("Direction\ttb")).toBe("Direction#32;tb");
  });

  it("encodes Mermaid's own entity placeholder characters", () => {
    expect(escapeMermaidText("ﬂ°35¶ß")).toBe("#64258;#176;35#182;#223;");
  });

  it("replaces lone surrogates", () => {
    const escaped = escapeMermaidText("bad \ud800 half");
    expect(isWellFormed(escaped)).toBe(true);
    expect(escaped).toBe("bad \uFFFD half");
  });
});

describe("truncateText", () => {
  it("returns short text unchanged", () => {
    expect(truncateText("hello", 5)).toBe("hello");
  });

  it("shortens with an ellipsis, counting it in the limit", () => {
    expect(truncateText("hello world", 6)).toBe("hello…");
    expect(graphemes(truncateText("a".repeat(100), 10))).toHaveLength(10);
  });

  it("never splits an emoji, a ZWJ sequence or a CJK character", () => {
    const family = "👨‍👩‍👧‍👦";
    expect(truncateText(family.repeat(5), 3)).toBe(`${family}${family}…`);
    expect(truncateText("🧑🏽‍🚀🧑🏽‍🚀🧑🏽‍🚀", 2)).toBe("🧑🏽‍🚀…");
    expect(truncateText("中文字符测试", 4)).toBe("中文字…");
  });

  it("always yields well-formed text that is a grapheme prefix of the input", () => {
    const alphabet = ["a", "é", "e\u0301", "中", "🚀", "👍🏽", "👨‍👩‍👧", "🇯🇵", " ", "\n", "ß"];
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let run = 0; run < 300; run++) {
      const length = next() % 40;
      const text = Array.from({ length }, () => alphabet[next() % alphabet.length]).join("");
      for (const max of [1, 2, 3, 7, 20]) {
        const out = truncateText(text, max);
        expect(isWellFormed(out)).toBe(true);
        expect(graphemes(out).length).toBeLessThanOrEqual(max);
        const kept = out.endsWith("…") && out !== text ? out.slice(0, -1) : out;
        expect(text.startsWith(kept)).toBe(true);
        expect(graphemes(text).slice(0, graphemes(kept).length).join("")).toBe(kept);
      }
    }
  });

  it("repairs lone surrogates instead of passing them on", () => {
    expect(isWellFormed(truncateText("x\udc00y".repeat(10), 5))).toBe(true);
    expect(truncateText("\ud83d", 5)).toBe("\uFFFD");
    expect(truncateText("🚀", 5)).toBe("🚀");
  });

  it("rejects a non-positive limit", () => {
    expect(() => truncateText("x", 0)).toThrow(RangeError);
  });
});

describe("summarizeInput", () => {
  it("lists top-level keys in their order", () => {
    expect(summarizeInput({ amount: 0.5, mint: "SOL", opts: { slip: 50 } }, 60)).toBe('amount = 0.5, mint = SOL, opts = {"slip":50}');
  });

  it("truncates long inputs with an ellipsis", () => {
    expect(summarizeInput({ amount: 0.5, mint: "So11111111111111111111111111111111111111112" }, 23)).toBe("amount = 0.5, mint = S…");
  });

  it("handles strings, arrays, empty and missing input", () => {
    expect(summarizeInput("plain", 10)).toBe("plain");
    expect(summarizeInput([1, 2], 10)).toBe("[1,2]");
    expect(summarizeInput({}, 10)).toBeNull();
    expect(summarizeInput(null, 10)).toBeNull();
    expect(summarizeInput(undefined, 10)).toBeNull();
  });

  it("survives cyclic objects", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(summarizeInput(cyclic, 40)).toBe("self = [object Object]");
  });
});
