export { DiagramError, type DiagramErrorCode } from "./diagram-error.js";
export { buildFlowModel } from "./flow-model.js";
export { type HtmlPageOptions, renderHtmlPage } from "./html-page.js";
export { parseConsolidatedContent } from "./parse-consolidated-content.js";
export { renderFlowDiagram } from "./render-flow-diagram.js";
