import { raw } from "hono/html";
import type { Child } from "hono/jsx";

/**
 * A page's own error (bad filters, an id that is not there), announced to screen readers; nothing
 * without one. Words, or words with the links that mend it (a filter's likely value, the first page).
 */
export function ErrorBox(props: { error: Child | undefined }) {
  return props.error ? (
    <section class="error-box" role="alert">
      {props.error}
    </section>
  ) : null;
}

/**
 * Every viewer page: one stylesheet and scripts from /assets (same origin, no CDN), each script with
 * the page's CSP nonce. The doctype keeps browsers in standards mode: without it they lay the page out
 * in quirks mode (tables, heights and line boxes as in old browsers).
 */
export function Layout(props: { title: string; nonce: string; scripts?: readonly string[]; children: Child }) {
  return (
    <>
      {raw("<!doctype html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <link rel="icon" href="data:," />
          <title>{props.title}</title>
          <link rel="stylesheet" href="/assets/viewer.css" />
        </head>
        <body>
          <main>
            <nav class="topbar" aria-label="reev">
              <a class="brand" href="/">
                reev runs
              </a>
              <a href="/evaluations">Evaluations</a>
              <a href="/api/v1/openapi.json">API</a>
            </nav>
            {props.children}
          </main>
          {(props.scripts ?? []).map((src) => (
            <script nonce={props.nonce} src={src} />
          ))}
        </body>
      </html>
    </>
  );
}
