export { type GoldenFile, generateGoldenData } from './generate.js';
export { type GoldenQuestion, goldenQuestions } from './questions.js';
