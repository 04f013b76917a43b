import type { Child } from "hono/jsx";
import { ErrorBox, Layout } from "./layout.js";

/**
 * A viewer page that cannot be shown (an unknown run, an id the database cannot hold): the reason
 * and the way back, in the viewer's frame, never the API's JSON, since a person asked for a page.
 */
export function ErrorPage(props: { heading: string; message: Child; back: { href: string; label: string } }) {
  return (
    <Layout title={`reev: ${props.heading.toLowerCase()}`} nonce="">
      <h1>{props.heading}</h1>
      <ErrorBox error={props.message} />
      <p>
        <a href={props.back.href} data-back="">
          {props.back.label}
        </a>
      </p>
    </Layout>
  );
}
