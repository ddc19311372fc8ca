export { startBedrockServer } from './bedrock-server.js';
export { startOpenAiServer } from './openai-server.js';
export { sleep, toolThenAnswer, type WireRequest, type WireScript, type WireStep } from './script.js';
