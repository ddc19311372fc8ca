/**
 * The API's zod schemas and shared enums, safe to import at runtime from clients (the web app, services):
 * nothing here touches the server.
 */
export * from './auth/schema.js';
export * from './file/schema.js';
export * from './project/schema.js';
