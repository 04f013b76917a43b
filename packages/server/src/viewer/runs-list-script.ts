/**
 * The runs list's live part. It follows `/api/v1/events` (ids of changed executions, parsed by the
 * browser's EventSource) and, when a run on the page changed — or, on the first page, when any run
 * did, since a new one belongs at its top — swaps in the rows and pager rendered again by the server
 * for the same filters and cursor (`/live?…`). One refresh at a time; changes that come meanwhile
 * cause one more. Each (re)connection refreshes too: changes made while it was away were not heard.
 *
 * Why every change of a shown run refreshes, though a stored step changes none of the row's cells
 * (status, duration and consolidation move only when the run ends or is consolidated): a change is an
 * execution id and nothing more (PostgreSQL's trigger announces the id alone, so that a listener
 * reads what was committed), and a run's step stored and its end are the same event. Skipping some
 * would miss the end. The cost stays bounded all the same: however fast steps come, a page has at
 * most one refresh under way and one more queued.
 * Keyboard focus stays on the same run's link across a swap. Plain ES2020, served from /assets with
 * a nonce.
 */
export const RUNS_LIST_SCRIPT = `
(() => {
  const note = document.getElementById("list-live");
  if (!note) return;
  const href = note.dataset.liveHref;
  const firstPage = note.dataset.firstPage === "true";
  const shown = (id) => [...document.querySelectorAll("#runs tr[data-execution-id]")].some((row) => row.dataset.executionId === id);
  let busy = false;
  let again = false;
  const swap = async () => {
    const response = await fetch(href, { headers: { Accept: "text/html" } });
    if (!response.ok) return;
    const template = document.createElement("template");
    template.innerHTML = await response.text();
    const fresh = template.content.getElementById("runs");
    const current = document.getElementById("runs");
    if (!fresh || !current) return;
    const active = document.activeElement;
    const focused = active && current.contains(active) ? active.closest("tr")?.dataset.executionId : undefined;
    current.replaceWith(fresh);
    if (focused) fresh.querySelector('tr[data-execution-id="' + CSS.escape(focused) + '"] a')?.focus();
  };
  const refresh = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      do {
        again = false;
        await swap();
      } while (again);
    } catch {
      // The page is being left, or the server went away: the stream's error handler says so.
    } finally {
      busy = false;
    }
  };
  const source = new EventSource("/api/v1/events");
  source.addEventListener("change", (event) => {
    const { execution_id } = JSON.parse(event.data);
    if (firstPage || shown(execution_id)) refresh();
  });
  source.addEventListener("resync", refresh);
  source.addEventListener("open", () => {
    note.textContent = firstPage ? "Live: statuses change and new runs appear as they are recorded." : "Live: statuses change as they are recorded.";
    refresh();
  });
  source.addEventListener("error", () => {
    note.textContent = "Live updates paused: reconnecting…";
  });
})();
`;
