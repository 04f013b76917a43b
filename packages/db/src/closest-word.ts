// "Did you mean …?" for a word from a fixed set: an unknown key of an input file (parse-input.ts), a
// value of a CLI option that takes one of a few words (reev list --status runing).

/**
 * The known word a typo most likely meant, for a "did you mean …?": within two edits (one for words of
 * four letters or fewer, where two would match nearly anything), case aside; else the one known word
 * that starts with it, for a name cut short (`flow` for flowId, `backof` for backoffMs: three letters
 * at least); undefined when none is that close.
 */
export function closestWord(word: string, known: readonly string[]): string | undefined {
  const limit = word.length <= 4 ? 1 : 2;
  const typed = word.toLowerCase();
  let best: { word: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(typed, candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { word: candidate, distance };
  }
  if (best) return best.word;
  const started = typed.length >= 3 ? known.filter((candidate) => candidate.toLowerCase().startsWith(typed)) : [];
  return started.length === 1 ? started[0] : undefined;
}

/**
 * Edit distance with insertions, deletions, substitutions and swaps of two neighbouring letters
 * (optimal string alignment): "josn" is one slip from "json", as commander counts a command's typo.
 */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? 0) + 1);
      row[j] = d;
    }
    before = previous;
    previous = row;
  }
  return previous[b.length] ?? 0;
}

/**
 * The end of a refusal that offers a guess, " Did you mean X?", or nothing: one wording wherever reev
 * guesses (flow files, CLI options and commands, the API's enums).
 */
export const didYouMean = (guess: string | undefined): string => (guess ? ` Did you mean ${guess}?` : "");

/** Words as a sentence lists them, for a "use one of …" beside a "did you mean": "a, b or c". */
export const orList = (words: readonly string[]): string => wordList(words, "or");

/** Words as a sentence lists them all: "a, b and c". */
export const andList = (words: readonly string[]): string => wordList(words, "and");

function wordList(words: readonly string[], conjunction: string): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} ${conjunction} ${words.at(-1)}`;
}
