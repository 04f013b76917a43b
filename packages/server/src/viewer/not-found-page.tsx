import type { Child } from "hono/jsx";
import { ErrorPage } from "./error-page.js";

/** A page that is not there (an unknown run, evaluation or URL). Never an empty list, which would read as "no runs recorded". */
export function NotFoundPage(props: { message: Child; back: { href: string; label: string } }) {
  return <ErrorPage heading="Not found" message={props.message} back={props.back} />;
}

/** The way back from a missing page: the runs list. */
export const BACK_TO_RUNS = { href: "/", label: "← Back to the runs list" } as const;

/** The way back from a missing evaluation: the evaluations list. */
export const BACK_TO_EVALUATIONS = { href: "/evaluations", label: "← Back to the evaluations list" } as const;
