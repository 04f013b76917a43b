/**
 * The report's one script, run after the mermaid and Panzoom bundles. It draws the diagram from
 * `#diagram[data-source]`, links each step's node to its row in the step table (click or Enter
 * opens the row's details; hovering shows a summary), and wires pan and zoom:
 * - drag, or the wheel, moves the diagram inside its box; at either end the wheel scrolls the page,
 *   so a tall diagram never traps the reader;
 * - Ctrl/⌘ + wheel, a pinch, the buttons, or + − 0 on the focused box zoom;
 * - arrow keys pan the focused box.
 * It records the outcome on `#diagram[data-render-state]` (rendered | error), so readers and tests
 * can tell a drawn diagram from a failed one. Plain ES2020 with no imports: it runs from a file://
 * page, and the viewer can serve the same text.
 */
export const REPORT_SCRIPT = `
(() => {
  // The smallest font size, in CSS pixels as drawn, that "Fit" and the first view show the labels at: the page's small print.
  const READABLE_PX = 12;
  const box = document.getElementById("diagram");
  if (!box) return;
  const viewport = box.querySelector(".diagram-viewport");
  const canvas = box.querySelector(".diagram-canvas");

  // Words for the reader, not the browser's: "Maximum call stack size exceeded" said nothing to do.
  // Mermaid's own detail goes to the console, for whoever reports it.
  function failed(error) {
    console.warn("reev: Mermaid could not draw the flow diagram:", error);
    const message = document.createElement("p");
    message.className = "render-error";
    message.textContent =
      "The browser could not draw this diagram. Every step is in the Steps table below; " +
      "the Mermaid source is under the diagram, to draw elsewhere (for example at mermaid.live).";
    canvas.replaceChildren(message);
    box.dataset.renderState = "error";
  }

  // Each step node becomes an SVG link to its table row. Mermaid names a state's node
  // "<svg id>-state-<state id>-<n>"; state ids are [A-Za-z0-9_], so the dashes delimit them.
  // A folded box links to the row of the first step it folds (data-folds maps its state id to that row).
  function linkSteps(svg) {
    const nodes = new Map();
    for (const node of svg.querySelectorAll("g.node[id]")) {
      const match = /^flow-diagram-svg-state-(\\w+)-\\d+$/.exec(node.id);
      if (match) nodes.set(match[1], node);
    }
    const link = (node, href, tip) => {
      const a = document.createElementNS("http://www.w3.org/2000/svg", "a");
      a.setAttribute("href", href);
      a.setAttribute("class", "step-link");
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = tip;
      a.append(title);
      node.replaceWith(a);
      a.append(node);
    };
    for (const row of document.querySelectorAll("tr[data-state-id]")) {
      const node = nodes.get(row.dataset.stateId);
      if (node) link(node, "#" + row.id, row.dataset.summary + " (click for details)");
    }
    const folds = box.dataset.folds ? JSON.parse(box.dataset.folds) : {};
    for (const [stateId, fold] of Object.entries(folds)) {
      const node = nodes.get(stateId);
      if (node) link(node, "#" + fold.row, fold.summary + " (click for the first of them)");
    }
  }

  function openTarget() {
    const row = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    if (row && row.matches("tr[data-state-id]")) for (const d of row.querySelectorAll("details")) d.open = true;
  }

  function wirePanZoom() {
    const pz = Panzoom(canvas, { minScale: 0.1, maxScale: 6, step: 0.25, cursor: "grab" });
    const center = () => {
      const r = viewport.getBoundingClientRect();
      return { clientX: r.left + r.width / 2, clientY: r.top + r.height / 2 };
    };
    const zoomBy = (factor) => pz.zoomToPoint(pz.getScale() * factor, center());
    // Moves by a screen distance, limited so the diagram never leaves its box; false when it cannot move.
    const panBy = (dx, dy) => {
      const v = viewport.getBoundingClientRect();
      const c = canvas.querySelector("svg").getBoundingClientRect();
      const clamp = (d, low, high) => Math.max(Math.min(low, 0), Math.min(Math.max(high, 0), d));
      const x = clamp(dx, v.right - c.right, v.left - c.left);
      const y = clamp(dy, v.bottom - c.bottom, v.top - c.top);
      if (Math.abs(x) < 0.5 && Math.abs(y) < 0.5) return false;
      pz.pan(x / pz.getScale(), y / pz.getScale(), { relative: true, animate: false });
      return true;
    };
    // The zoom that draws the labels at READABLE_PX. The SVG may already be drawn smaller than its
    // own size (Mermaid caps its width at the box's), so that factor counts too.
    const readableScale = () => {
      const svg = canvas.querySelector("svg");
      const label = svg.querySelector(".nodeLabel");
      const size = label ? parseFloat(getComputedStyle(label).fontSize) : NaN;
      const drawn = svg.getBoundingClientRect().width / pz.getScale() / (svg.viewBox.baseVal.width || NaN);
      return size > 0 && drawn > 0 ? READABLE_PX / (size * drawn) : 0;
    };
    // The scale at which the whole diagram fits its box (never above 1:1), but never below the
    // readable one: a long flow then shows as many steps as stay readable, and the rest is a pan away.
    const fitScale = () => {
      const v = viewport.getBoundingClientRect();
      const c = canvas.querySelector("svg").getBoundingClientRect();
      const whole = Math.min(1, (v.width - 16) / (c.width / pz.getScale()), (v.height - 16) / (c.height / pz.getScale()));
      return Math.max(whole, readableScale());
    };
    // The drawing's top at the box's top, and centred, or if still wider than the box, its left edge
    // at the box's (where the arrows and the first notes are) rather than cut on both sides. The box
    // grows to the zoomed drawing's height, up to its max-height: it was as tall as the drawing Mermaid
    // had shrunk to its width, a strip on a phone. Computed from the layout, not from the drawing on
    // screen: Panzoom moves it a frame later.
    const fit = () => {
      const scale = fitScale();
      const svg = canvas.querySelector("svg");
      const drawnWidth = svg.getBoundingClientRect().width / pz.getScale();
      const half = { x: canvas.offsetWidth / 2, y: canvas.offsetHeight / 2 };
      viewport.style.height = scale > 1 ? canvas.offsetHeight * scale + "px" : "";
      // Panzoom draws "scale(s) translate(x, y)" about the canvas's centre: a point p shows at half + s × (p − half + t).
      const left = (canvas.offsetWidth - drawnWidth) / 2;
      const x = drawnWidth * scale > viewport.clientWidth ? (8 - half.x) / scale + half.x - left : 0;
      const y = half.y - half.y / scale;
      pz.zoom(scale, { animate: false });
      pz.pan(x, y, { animate: false });
    };
    const reset = () => {
      viewport.style.height = "";
      pz.reset();
    };
    viewport.addEventListener(
      "wheel",
      (event) => {
        if (event.ctrlKey || event.metaKey) {
          pz.zoomWithWheel(event);
          return;
        }
        const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? viewport.clientHeight : 1;
        if (panBy(-event.deltaX * unit, -event.deltaY * unit)) event.preventDefault();
      },
      { passive: false },
    );
    viewport.addEventListener("keydown", (event) => {
      const moves = { ArrowUp: [0, 60], ArrowDown: [0, -60], ArrowLeft: [60, 0], ArrowRight: [-60, 0] };
      if (moves[event.key]) panBy(moves[event.key][0], moves[event.key][1]);
      else if (event.key === "+" || event.key === "=") zoomBy(1.25);
      else if (event.key === "-") zoomBy(0.8);
      else if (event.key === "0") reset();
      else return;
      event.preventDefault();
    });
    box.querySelector("[data-zoom=in]").addEventListener("click", () => zoomBy(1.25));
    box.querySelector("[data-zoom=out]").addEventListener("click", () => zoomBy(0.8));
    box.querySelector("[data-zoom=fit]").addEventListener("click", fit);
    box.querySelector("[data-zoom=reset]").addEventListener("click", reset);
    for (const button of box.querySelectorAll("[data-zoom]")) button.disabled = false;
    // The edges the diagram runs past, for the box to mark: on a phone the box shows four steps of
    // twelve, and its plain bottom edge read as the flow's end.
    const markOverflow = () => {
      const v = viewport.getBoundingClientRect();
      const c = canvas.querySelector("svg").getBoundingClientRect();
      viewport.dataset.more = [c.top < v.top - 1 ? "above" : "", c.bottom > v.bottom + 1 ? "below" : ""].join(" ").trim();
    };
    canvas.addEventListener("panzoomchange", markOverflow);
    window.addEventListener("resize", markOverflow);
    // A diagram only a little taller than its box starts whole, its text still at 80% or more; one
    // Mermaid shrank to a narrow box's width (a wide flow on a phone) starts zoomed in to readable text.
    // Panzoom pans to its start in a timeout of its own, which undid a first view set before it; the
    // promise settles once the first view is drawn (Panzoom draws a frame later).
    return new Promise((resolve) =>
      setTimeout(() => {
        const start = fitScale();
        if (start >= 0.8 && start !== 1) fit();
        markOverflow();
        requestAnimationFrame(resolve);
      }),
    );
  }

  (async () => {
    try {
      // Mermaid's default 50,000-character cap is reached by runs of roughly 100 steps.
      // Mermaid sizes each node to its label's measured box with only 4 px to spare, so the text
      // touched the border: padding in the diagram's own stylesheet is measured with the label.
      mermaid.initialize({
        startOnLoad: false,
        securityLevel: "strict",
        theme: "default",
        maxTextSize: 2000000,
        themeCSS: ".nodeLabel { display: inline-block; padding: 0 8px; }",
        // Arrows between steps carry no label, so a shorter one (Mermaid's is 50 px) says as much
        // and leaves room for more steps on screen. Boxes side by side (a step and its check note)
        // closer than Mermaid's 50 px: a two-step flow with a flow check's note was a little wider
        // than a phone at readable text, the note cut off at the right.
        state: { rankSpacing: 30, nodeSpacing: 20 },
      });
      const { svg } = await mermaid.render("flow-diagram-svg", box.dataset.source);
      canvas.innerHTML = svg;
      linkSteps(canvas.querySelector("svg"));
      await wirePanZoom();
      box.dataset.renderState = "rendered";
    } catch (error) {
      failed(error);
    }
  })();
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
`;
