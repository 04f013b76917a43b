import { andList, closestWord, didYouMean } from "@reev/orchestrator";
import type { Child } from "hono/jsx";
import { ApiError } from "../api/api-error.js";

/**
 * A page URL the page cannot be read from (a filter's value, a page link, a parameter it does not
 * take), written for the person who followed it: `message` in words, `box` the same words with the
 * links that mend it. A 400 like the API's, without its wording ("pass meta.nextCursor…"), which is
 * for programs.
 */
export class PageProblem extends ApiError {
  readonly box: Child;

  constructor(message: string, field: string, box: Child) {
    super(400, "INVALID_ARGUMENT", message, field);
    this.box = box;
  }
}

/** A page's URL with these parameters; one left out or empty is left out of the URL. */
export function pageHref(path: string, values: Readonly<Record<string, string | null | undefined>>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) params.set(key, value);
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** What a page shows in its error box: a PageProblem's words and links, any other error's words. */
export const errorBoxOf = (known: ApiError): Child => (known instanceof PageProblem ? known.box : known.message);

/** The way out of a URL a page cannot be read from: what it shows instead, and the link that starts over. */
export type WayOut = { unread: string; change: boolean; link: { href: string; words: string } };

/**
 * The URL parameters a viewer page reads, for refusing any other (the page without it would show
 * what the URL did not ask for, as if it had been read): the page's name, what it calls its
 * parameters, the ones a person sets by their form labels, and its URL for given values.
 */
export type PageParams = {
  page: string;
  noun: string;
  labels: Readonly<Record<string, string>>;
  /** Parameters the page's own links carry (a page link's cursor): taken, never offered as a guess. */
  carried: readonly string[];
  href: (values: Readonly<Record<string, string | undefined>>) => string;
  wayOut: WayOut;
};

/** A URL the page cannot be read from: `sentence` for the message, `words` for the box, with a link to what a typo most likely meant, and the way out. */
export function pageProblem(
  wayOut: WayOut,
  field: string,
  sentence: string,
  words: string,
  guess?: { word: string; href: string },
): PageProblem {
  const change = wayOut.change ? "change it above, or " : "";
  return new PageProblem(
    `${sentence} ${wayOut.unread} ${change}${wayOut.link.words}.`,
    field,
    <>
      <p>
        {words}
        {guess ? (
          <>
            {" "}
            Did you mean <a href={guess.href}>{guess.word}</a>?
          </>
        ) : null}
      </p>
      <p>
        {wayOut.unread} {change}
        <a href={wayOut.link.href}>{wayOut.link.words}</a>.
      </p>
    </>,
  );
}

/**
 * A URL parameter the page does not take (`?stauts=running`), refused rather than ignored. Named
 * with the one a typo most likely meant, linked with the value carried over.
 */
function unknownParamProblem(url: URL, params: PageParams, values: Readonly<Record<string, string | undefined>>): PageProblem | undefined {
  const names = Object.keys(params.labels);
  const name = [...url.searchParams.keys()].find((key) => !names.includes(key) && !params.carried.includes(key));
  if (name === undefined) return undefined;
  const word = closestWord(name, names);
  // A page with no filters still reads what its own page links carry: "no parameters" would be untrue.
  const takes = names.length
    ? `its ${params.noun}s are ${andList(names)}`
    : params.carried.length
      ? `it takes only ${andList(params.carried.map((c) => `"${c}"`))}, which its own page links carry`
      : `it takes no ${params.noun}s`;
  const words = `${params.page} has no "${name}" ${params.noun}; ${takes}.`;
  const guess =
    word === undefined ? undefined : { word, href: params.href({ ...values, [word]: url.searchParams.get(name) || undefined }) };
  return pageProblem(params.wayOut, name, `${words}${didYouMean(word)}`, words, guess);
}

/**
 * A URL parameter given more than once (`?status=failed&status=completed`), refused as the API
 * refuses it: the page would be read with the first value alone, as if the others were not there.
 */
function repeatedParamProblem(url: URL, params: PageParams): PageProblem | undefined {
  const name = [...new Set(url.searchParams.keys())].find((key) => url.searchParams.getAll(key).length > 1);
  if (name === undefined) return undefined;
  const values = url.searchParams.getAll(name);
  const label = params.labels[name];
  const what = label ? `The ${label} ${params.noun}` : `"${name}"`;
  const words = `${what} is given ${values.length} times (${values.map((v) => `"${v}"`).join(", ")}); ${params.page.toLowerCase()} takes one value.`;
  return pageProblem(params.wayOut, name, words, words);
}

/** Throws the PageProblem of a URL with a parameter the page does not take, or one given twice. */
export function checkPageParams(url: URL, params: PageParams, values: Readonly<Record<string, string | undefined>>): void {
  const problem = unknownParamProblem(url, params, values) ?? repeatedParamProblem(url, params);
  if (problem) throw problem;
}
