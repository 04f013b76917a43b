export * from "./agent.js";
export * from "./openai-chat-agent.js";
export * from "./scripted-agent.js";
