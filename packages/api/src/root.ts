import { authRouter } from './auth/router.js';
import { chatRouter } from './chat/router.js';
import { fileRouter } from './file/router.js';
import { projectRouter } from './project/router.js';
import { sessionRouter } from './session/router.js';
import { router } from './trpc.js';

export const appRouter = router({
  auth: authRouter,
  project: projectRouter,
  file: fileRouter,
  session: sessionRouter,
  chat: chatRouter,
});

export type AppRouter = typeof appRouter;
