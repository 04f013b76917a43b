import type { Child } from "hono/jsx";

/** Every viewer page: one stylesheet and scripts from /assets (same origin, no CDN), each script with the page's CSP nonce. */
export function Layout(props: { title: string; nonce: string; scripts?: readonly string[]; children: Child }) {
  return (
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
  );
}
