/**
 * The run page's folded step table (see stepWindow): a stretch's "Show" links fetch its rows from
 * `/runs/{id}/steps` and put them in place of its row (the part not asked for stays folded, with its
 * own links), and a link to a step that has no row yet (a folded box of the diagram, a shared URL)
 * fetches the rows from that step on, then lands on it as on any row. Without this script the links
 * open the page with every step. Plain ES2020, served from /assets with a nonce.
 */
export const STEPS_SCRIPT = `
(() => {
  const CHUNK = 100;
  const steps = document.getElementById("run-steps");
  const live = document.getElementById("live-note");
  const id = (live && live.dataset.executionId) || decodeURIComponent(location.pathname.split("/")[2] || "");

  // Replaces the stretch's row with the rows of its steps from..to (the others stay folded).
  async function show(gap, from, to) {
    const query = new URLSearchParams({ from: gap.dataset.from, to: gap.dataset.to, show: from + "-" + to });
    const words = gap.querySelector(".gap-words");
    gap.setAttribute("aria-busy", "true");
    try {
      const response = await fetch("/runs/" + encodeURIComponent(id) + "/steps?" + query, { headers: { Accept: "text/html" } });
      if (!response.ok) throw new Error("HTTP " + response.status);
      const template = document.createElement("template");
      template.innerHTML = "<table><tbody>" + (await response.text()) + "</tbody></table>";
      const rows = [...template.content.querySelector("tbody").children];
      // None: the run changed under the page (a new consolidation); the stretch stays, and its words say so.
      if (rows.length === 0) throw new Error("no rows for these steps");
      gap.replaceWith(...rows);
      return true;
    } catch (error) {
      console.warn("reev: could not load the steps", error);
      gap.removeAttribute("aria-busy");
      if (words) words.textContent += " (could not load these steps: reload the page, or use Show all steps above)";
      return false;
    }
  }

  const gapOf = (index) => {
    for (const gap of document.querySelectorAll("tr.steps-gap")) {
      if (Number(gap.dataset.from) <= index && index <= Number(gap.dataset.to)) return gap;
    }
    return null;
  };

  // A link to a row not in the table yet: its steps are fetched, then the browser lands on it
  // (its highlight, and report.js opening its tool calls, as for any row).
  async function landOnHash() {
    const target = location.hash ? decodeURIComponent(location.hash.slice(1)) : "";
    if (!target || document.getElementById(target)) return;
    const match = /^step-step_(\\d+)_/.exec(target);
    const gap = match && gapOf(Number(match[1]));
    if (!gap) return;
    const index = Number(match[1]);
    if (!(await show(gap, index, Math.min(Number(gap.dataset.to), index + CHUNK - 1)))) return;
    if (!document.getElementById(target)) return;
    history.replaceState(history.state, "", location.pathname + location.search);
    location.replace("#" + target);
  }

  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.show-steps[data-show]") : null;
    const gap = link && link.closest("tr.steps-gap");
    if (!gap || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    const from = Number(gap.dataset.from);
    const to = link.dataset.show === "all" ? Number(gap.dataset.to) : Math.min(Number(gap.dataset.to), from + CHUNK - 1);
    show(gap, from, to);
  });
  if (!steps) return;
  window.addEventListener("hashchange", landOnHash);
  landOnHash();
})();
`;
