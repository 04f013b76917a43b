/**
 * The run page's live part: while the run is live, it follows the run's event stream (the API's
 * Server-Sent Events, parsed by the browser's EventSource) and, on each event, swaps in the
 * server-rendered status, metrics and step table; when the stream reports the run's final event it reloads
 * once, for the consolidated diagram. An abandoned run (its process gone) is followed too: its status
 * event says so, and what reev recover then does to it ends the stream like any run's end. Plain
 * ES2020, served from /assets with a nonce.
 */

/** What the live note says of an abandoned run, on the page as served and once the stream finds it. */
export const GONE_NOTE = "Not live: the run's process is gone. This page updates when reev recover finishes it.";

export const VIEWER_SCRIPT = `
(() => {
  const note = document.getElementById("live-note");
  if (!note) return;
  const id = note.dataset.executionId;
  const source = new EventSource("/api/v1/executions/" + encodeURIComponent(id) + "/events");
  let refreshing = Promise.resolve();
  const refresh = () => {
    refreshing = refreshing.then(async () => {
      // A table showing every step (?steps=all) stays so.
      const all = document.querySelector("#run-steps[data-all-steps]") ? "?steps=all" : "";
      const response = await fetch("/runs/" + encodeURIComponent(id) + "/live" + all, { headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const html = await response.text();
      const template = document.createElement("template");
      template.innerHTML = html;
      for (const part of template.content.querySelectorAll("[data-live-part]")) {
        const current = document.getElementById(part.id);
        if (current) current.replaceWith(part);
      }
    }).catch(() => {});
    return refreshing;
  };
  // An abandoned run (its process gone) will not finish on its own: its banner is swapped in, and the
  // stream goes on until reev recover finishes it.
  const gone = ${JSON.stringify(GONE_NOTE)};
  let abandoned = note.dataset.abandoned === "true";
  for (const type of ["step", "consolidation"]) source.addEventListener(type, refresh);
  // A run that finished (recovered, or ended on its own) still waits for its consolidation, which ends
  // the stream: the note says so, rather than what it said while the run was gone or live.
  source.addEventListener("status", (event) => {
    const data = JSON.parse(event.data);
    abandoned = data.abandoned === true;
    if (abandoned) note.textContent = gone;
    else if (data.status !== "running") note.textContent = "The run has finished: waiting for its consolidation…";
    refresh();
  });
  source.addEventListener("end", () => {
    source.close();
    note.textContent = "The run has finished: loading its diagram…";
    refreshing.then(() => location.reload());
  });
  source.addEventListener("error", () => {
    if (note) note.textContent = "Live updates paused: reconnecting…";
  });
  source.addEventListener("open", () => {
    note.textContent = abandoned ? gone : "Live: new steps appear as they are recorded.";
  });
})();
`;
