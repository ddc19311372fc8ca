import { QueryClientProvider } from '@tanstack/react-query';
import {
  createRootRoute,
  createRoute,
  createRouter,
  Link,
  Navigate,
  Outlet,
  RouterProvider,
  useNavigate,
} from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Button, Loading } from './components/ui.js';
import { logOut, useAuth } from './lib/auth.js';
import { queryClient, TRPCProvider, trpcClient } from './lib/trpc.js';
import { AuthPage } from './pages/AuthPage.js';
import { ChatPage } from './pages/ChatPage.js';
import { FilePage } from './pages/FilePage.js';
import { ProjectPage } from './pages/ProjectPage.js';
import { ProjectsPage } from './pages/ProjectsPage.js';
import './styles.css';

function Shell() {
  const auth = useAuth();
  const navigate = useNavigate();
  return (
    <div className="min-h-dvh">
      <header className="flex h-14 items-center justify-between border-b border-slate-200 bg-white px-4">
        <Link to="/" className="font-semibold tracking-tight">
          Leonidas
        </Link>
        {auth.status === 'signed-in' ? (
          <div className="flex items-center gap-3 text-sm">
            <span className="hidden text-slate-600 sm:inline">{auth.user.email}</span>
            <Button
              variant="ghost"
              onClick={async () => {
                await logOut();
                await navigate({ to: '/login' });
              }}
            >
              Log out
            </Button>
          </div>
        ) : null}
      </header>
      <Outlet />
    </div>
  );
}

/** Pages behind sign-in send visitors to the login form, once a page load has tried the sign-in cookie. */
function SignedIn({ children }: { children: React.ReactNode }) {
  const auth = useAuth();
  if (auth.status === 'restoring')
    return (
      <main className="mx-auto w-full max-w-3xl px-4 py-8">
        <Loading label="Signing you in" />
      </main>
    );
  return auth.status === 'signed-in' ? children : <Navigate to="/login" />;
}

const root = createRootRoute({ component: Shell });
const routes = [
  createRoute({ getParentRoute: () => root, path: '/login', component: () => <AuthPage mode="login" /> }),
  createRoute({ getParentRoute: () => root, path: '/signup', component: () => <AuthPage mode="signup" /> }),
  createRoute({
    getParentRoute: () => root,
    path: '/',
    component: () => (
      <SignedIn>
        <ProjectsPage />
      </SignedIn>
    ),
  }),
  createRoute({
    getParentRoute: () => root,
    path: '/projects/$projectId',
    component: function ProjectRoute() {
      const { projectId } = projectRoute.useParams();
      return (
        <SignedIn>
          <ProjectPage projectId={projectId} />
        </SignedIn>
      );
    },
  }),
  createRoute({
    getParentRoute: () => root,
    path: '/projects/$projectId/files/$fileId',
    component: function FileRoute() {
      const { projectId, fileId } = fileRoute.useParams();
      return (
        <SignedIn>
          <FilePage projectId={projectId} fileId={fileId} />
        </SignedIn>
      );
    },
  }),
  createRoute({
    getParentRoute: () => root,
    path: '/projects/$projectId/sessions/$sessionId',
    component: function ChatRoute() {
      const { projectId, sessionId } = chatRoute.useParams();
      return (
        <SignedIn>
          <ChatPage key={sessionId} projectId={projectId} sessionId={sessionId} />
        </SignedIn>
      );
    },
  }),
] as const;
const [, , , projectRoute, fileRoute, chatRoute] = routes;

const router = createRouter({ routeTree: root.addChildren([...routes]) });

declare module '@tanstack/react-router' {
  interface Register {
    router: typeof router;
  }
}

const container = document.getElementById('root');
if (!container) throw new Error('No #root element');
createRoot(container).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <RouterProvider router={router} />
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);
