import { authRouter } from './auth/router.js';
import { fileRouter } from './file/router.js';
import { projectRouter } from './project/router.js';
import { router } from './trpc.js';

export const appRouter = router({
  auth: authRouter,
  project: projectRouter,
  file: fileRouter,
});

export type AppRouter = typeof appRouter;
