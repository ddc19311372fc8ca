/**
 * An outside service using Leonidas: signs in (or registers), uploads a CSV, asks DS Bro about it and prints the
 * reply as it streams. Run it against a server started with `pnpm start`: `pnpm --filter @leonidas/example-node-service start`.
 */
import { type AuthTokens, ask, createLeonidasClient, errorCode, uploadFile } from '@leonidas/client';
import { env } from './env.js';

const SAMPLE = ['city,visitors,revenue', 'Paris,1200,35000.5', 'Lima,800,12000', 'Oslo,450,9800.25'].join(
  '\n',
);

async function signIn(): Promise<AuthTokens> {
  const anonymous = createLeonidasClient({ url: env.url });
  try {
    return await anonymous.auth.login.mutate({ email: env.email, password: env.password });
  } catch (error) {
    if (errorCode(error) !== 'UNAUTHORIZED') throw error;
    return anonymous.auth.register.mutate({
      email: env.email,
      password: env.password,
      name: 'Example service',
    });
  }
}

let tokens = await signIn();
const leonidas = createLeonidasClient({
  url: env.url,
  getToken: () => tokens.accessToken,
  refreshToken: () => tokens.refreshToken,
  onTokens: (renewed) => {
    tokens = renewed;
  },
});

const project = await leonidas.project.create.mutate({
  name: 'Example service',
  description: 'Made by examples/node-service',
});
const file = await uploadFile(leonidas, {
  projectId: project.id,
  filename: 'visits.csv',
  data: Buffer.from(SAMPLE),
});
if (file.status !== 'COMPLETED') throw new Error(`The upload failed: ${file.failureReason}`);
console.log(
  `Uploaded ${file.filename}: ${file.metadata?.rowCount} rows, ${file.metadata?.columns.length} columns.\n`,
);

const session = await leonidas.session.create.mutate({ projectId: project.id, title: 'Visits' });
console.log('DS Bro:');
for await (const event of ask(leonidas, { sessionId: session.id, content: `describe ${file.filename}` })) {
  if (event.type === 'tool.call') console.log(`[${event.name}]`);
  if (event.type === 'message.delta') process.stdout.write(event.text);
  if (event.type === 'run.failed') throw new Error(event.error);
}
console.log('\n');
