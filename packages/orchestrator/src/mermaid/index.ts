export { DiagramError, type DiagramErrorCode } from "./diagram-error.js";
export { escapeMermaidText } from "./escape-mermaid-text.js";
export { buildFlowModel, type FlowModel, type FlowStepState, type FlowToolState } from "./flow-model.js";
export { type HtmlPageOptions, renderHtmlPage } from "./html-page.js";
export { parseConsolidatedContent } from "./parse-consolidated-content.js";
export { renderFlowDiagram } from "./render-flow-diagram.js";
export { sanitizeIdPart, StateIdRegistry } from "./state-ids.js";
export { truncateText } from "./truncate-text.js";
