import { ErrorBox, Layout } from "./layout.js";

/**
 * A page that is not there (an unknown run, evaluation or URL): the reason and the way back, in the
 * viewer's frame. Never an empty list, which would read as "no runs recorded".
 */
export function NotFoundPage(props: { message: string; back: { href: string; label: string } }) {
  return (
    <Layout title="reev: not found" nonce="">
      <h1>Not found</h1>
      <ErrorBox error={props.message} />
      <p>
        <a href={props.back.href} data-back="">
          {props.back.label}
        </a>
      </p>
    </Layout>
  );
}

/** The way back from a missing page: the runs list. */
export const BACK_TO_RUNS = { href: "/", label: "← Back to the runs list" } as const;
