/** What the example reads from its environment, with defaults for a local Leonidas. */
export const env = {
  url: process.env.LEONIDAS_URL ?? 'http://localhost:3000',
  email: process.env.LEONIDAS_EMAIL ?? `example-service-${Date.now()}@example.com`,
  password: process.env.LEONIDAS_PASSWORD ?? 'example service password',
};
