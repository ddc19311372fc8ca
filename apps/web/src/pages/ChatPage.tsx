import type { Message } from '@leonidas/api';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useRouterState } from '@tanstack/react-router';
import { useSubscription } from '@trpc/tanstack-react-query';
import { clsx } from 'clsx';
import {
  type KeyboardEvent,
  useCallback,
  useEffect,
  useLayoutEffect,
  useReducer,
  useRef,
  useState,
} from 'react';
import { ChatMessageItem, type MessageActions, type VersionControl } from '../components/ChatMessageItem.js';
import { Button, ConfirmDialog, ErrorNote, errorMessage, Loading, RenameForm } from '../components/ui.js';
import { activeBranch, type ChatMessage, chatReducer, emptyChat } from '../lib/chat-state.js';
import { draftKey } from '../lib/drafts.js';
import { useTRPC } from '../lib/trpc.js';

export function ChatPage({ projectId, sessionId }: { projectId: string; sessionId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const session = useQuery(trpc.session.byId.queryOptions({ sessionId }));
  const history = useInfiniteQuery(
    trpc.chat.history.infiniteQueryOptions(
      { sessionId, limit: 30 },
      { getNextPageParam: (page) => page.nextCursor ?? undefined },
    ),
  );
  const [state, dispatch] = useReducer(chatReducer, emptyChat);
  const [renaming, setRenaming] = useState(false);
  const update = useMutation(trpc.session.update.mutationOptions());
  const refresh = useMutation(trpc.session.refresh.mutationOptions());
  const remove = useMutation(trpc.session.delete.mutationOptions());
  const cancel = useMutation(trpc.chat.cancel.mutationOptions());

  useEffect(() => {
    if (history.data) dispatch({ type: 'history', pages: history.data.pages.map((page) => page.items) });
  }, [history.data]);

  const stream = useSubscription(
    trpc.chat.onEvents.subscriptionOptions(
      { sessionId },
      { onData: (tracked) => dispatch({ type: 'event', event: tracked.data }) },
    ),
  );

  useEffect(() => {
    if (state.missesMessages) void history.refetch();
  }, [state.missesMessages, history]);

  const messages = activeBranch(state);
  const replying = state.activeRunId !== null || messages.some((message) => message.status === 'streaming');
  const offline = messages.some((message) => message.model?.startsWith('offline/'));
  const { actions, actionError, focusRequest, clearFocusRequest, followed } = useMessageActions({
    sessionId,
    replying,
    showServerBranch: async () => {
      const fresh = await history.refetch({ throwOnError: true });
      if (fresh.data) dispatch({ type: 'reset', pages: fresh.data.pages.map((page) => page.items) });
    },
    onSent: (message) => dispatch({ type: 'sent', message }),
  });

  return (
    <main className="mx-auto flex h-[calc(100dvh-3.5rem)] w-full max-w-4xl flex-col px-4 py-4">
      <nav aria-label="Breadcrumb" className="text-sm text-slate-500">
        <Link to="/projects/$projectId" params={{ projectId }} className="underline">
          Back to project
        </Link>
      </nav>
      <header className="mt-1 flex flex-wrap items-center justify-between gap-2">
        {renaming && session.data ? (
          <RenameForm
            label="Chat title"
            value={session.data.title}
            onSave={async (title) => {
              await update.mutateAsync({ sessionId, title });
              await queryClient.invalidateQueries({ queryKey: trpc.session.pathKey() });
            }}
            onDone={() => setRenaming(false)}
          />
        ) : (
          <h1 className="text-xl font-semibold">{session.data?.title ?? 'Chat'}</h1>
        )}
        <div className="flex flex-wrap gap-2">
          <Button variant="secondary" onClick={() => setRenaming(true)}>
            Rename chat
          </Button>
          <ConfirmDialog
            trigger={
              <Button variant="secondary" disabled={replying}>
                Start over
              </Button>
            }
            title="Start this chat over?"
            description="Every message in this chat is cleared. Files are kept."
            confirmLabel="Start over"
            onConfirm={async () => {
              await refresh.mutateAsync({ sessionId });
              window.location.reload();
            }}
          />
          <ConfirmDialog
            trigger={<Button variant="danger">Delete chat</Button>}
            title="Delete this chat?"
            description="The chat and its messages are deleted for good."
            confirmLabel="Delete chat"
            onConfirm={async () => {
              await remove.mutateAsync({ sessionId });
              // Leave first: refetching the deleted chat would only find it gone.
              await navigate({ to: '/projects/$projectId', params: { projectId } });
              queryClient.removeQueries({ queryKey: trpc.session.byId.queryKey({ sessionId }) });
              await queryClient.invalidateQueries({ queryKey: trpc.session.list.pathKey() });
            }}
          />
        </div>
      </header>
      {session.error ? <ErrorNote>{session.error.message}</ErrorNote> : null}
      {offline ? (
        <p
          role="note"
          className="mt-2 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-800"
        >
          DS Bro is running offline: no language model is configured, so it works by command. Query your
          tables with <code className="font-mono">/sql SELECT ...</code>, then{' '}
          <code className="font-mono">/chart</code> or <code className="font-mono">/save</code> the result;{' '}
          <code className="font-mono">/help</code> lists everything.
        </p>
      ) : null}
      {stream.status === 'error' ? (
        <ErrorNote>Live updates stopped: {stream.error?.message}. Reload to reconnect.</ErrorNote>
      ) : null}
      <MessageList
        projectId={projectId}
        messages={messages}
        loading={history.isPending}
        error={history.error?.message}
        hasOlder={history.hasNextPage}
        loadingOlder={history.isFetchingNextPage}
        loadOlder={() => void history.fetchNextPage()}
        actions={actions}
        actionError={actionError}
        focusVersion={focusRequest?.kind === 'version' ? focusRequest : undefined}
        onVersionFocused={clearFocusRequest}
        followed={followed}
      />
      <Composer
        sessionId={sessionId}
        replying={replying}
        onSent={(message) => dispatch({ type: 'sent', message })}
        onStop={() => cancel.mutate({ sessionId })}
      />
    </main>
  );
}

type FocusRequest = { kind: 'composer' } | { kind: 'version'; messageId: string; control: VersionControl };

/**
 * What a chat's messages can do to its conversation (edit, regenerate, show another version, delete), the error
 * of the last one beside its message, and where focus goes once the message it started from has left the view.
 */
function useMessageActions({
  sessionId,
  replying,
  showServerBranch,
  onSent,
}: {
  sessionId: string;
  replying: boolean;
  /** Shows the server's active branch in place of what is known: the tree changed under the view. */
  showServerBranch: () => Promise<void>;
  onSent: (message: Message) => void;
}) {
  const trpc = useTRPC();
  const edit = useMutation(trpc.chat.edit.mutationOptions());
  const regenerate = useMutation(trpc.chat.regenerate.mutationOptions());
  const selectBranch = useMutation(trpc.chat.selectBranch.mutationOptions());
  const deleteMessage = useMutation(trpc.chat.deleteMessage.mutationOptions());
  const [actionError, setActionError] = useState<{ messageId: string; text: string } | null>(null);
  const [focusRequest, setFocusRequest] = useState<FocusRequest | null>(null);
  // Counts the new replies asked for from a message: the conversation scrolls down to each.
  const [followed, setFollowed] = useState(0);
  const changing = useRef(false);

  // After the render that removed the message (and any dialog of it), so nothing takes focus back.
  useEffect(() => {
    if (focusRequest?.kind !== 'composer') return;
    document.getElementById('composer')?.focus();
    setFocusRequest(null);
  }, [focusRequest]);

  /** Runs one change at a time; `change` tells where focus goes once it shows, if not set already. */
  const attempt = async (messageId: string, change: () => Promise<FocusRequest | null>) => {
    if (changing.current) return false;
    changing.current = true;
    setActionError(null);
    try {
      const focus = await change();
      if (focus) setFocusRequest(focus);
      return true;
    } catch (error) {
      setActionError({ messageId, text: errorMessage(error) });
      return false;
    } finally {
      changing.current = false;
    }
  };
  const actions: MessageActions = {
    locked: replying,
    edit: (message, content) =>
      attempt(message.id, async () => {
        const { userMessage } = await edit.mutateAsync({
          sessionId,
          messageId: message.id,
          content,
          clientMessageId: crypto.randomUUID(),
        });
        onSent(userMessage);
        setFollowed((count) => count + 1);
        return { kind: 'composer' };
      }),
    regenerate: (message) =>
      attempt(message.id, async () => {
        await regenerate.mutateAsync({
          sessionId,
          messageId: message.id,
          clientMessageId: crypto.randomUUID(),
        });
        setFollowed((count) => count + 1);
        return { kind: 'composer' };
      }),
    showVersion: (message, versionId, control) =>
      attempt(message.id, async () => {
        await selectBranch.mutateAsync({ sessionId, messageId: versionId });
        // Asked before the branch shows, so that the view keeps its place rather than going down to the end.
        setFocusRequest({ kind: 'version', messageId: versionId, control });
        await showServerBranch();
        return null;
      }),
    remove: (message) =>
      attempt(message.id, async () => {
        await deleteMessage.mutateAsync({ sessionId, messageId: message.id });
        await showServerBranch();
        return { kind: 'composer' };
      }),
  };
  const clearFocusRequest = useCallback(() => setFocusRequest(null), []);
  return { actions, actionError, focusRequest, clearFocusRequest, followed };
}

function MessageList(props: {
  projectId: string;
  messages: ChatMessage[];
  loading: boolean;
  error: string | undefined;
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => void;
  actions: MessageActions;
  actionError: { messageId: string; text: string } | null;
  focusVersion: { messageId: string; control: VersionControl } | undefined;
  onVersionFocused: () => void;
  /** Changes when a new reply was asked for from a message, maybe far up: the view goes down to it. */
  followed: number;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);
  const stickToBottom = useRef(true);
  const { hasOlder, loadingOlder, loadOlder } = props;

  // Scrolling to the top loads older messages.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || !hasOlder) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting) && !loadingOlder) loadOlder();
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasOlder, loadingOlder, loadOlder]);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element || props.followed === 0) return;
    stickToBottom.current = true;
    element.scrollTop = element.scrollHeight;
  }, [props.followed]);

  // A version just chosen stays where it was on screen: the view does not go down to its branch's end.
  const chosenVersionId = props.focusVersion?.messageId;
  const chosenVersionShown = props.messages.some((message) => message.id === chosenVersionId);
  useLayoutEffect(() => {
    const element = scroller.current;
    if (!chosenVersionId || !element) return;
    if (chosenVersionShown)
      document.getElementById(`message-${chosenVersionId}`)?.scrollIntoView({ block: 'nearest' });
    stickToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
  }, [chosenVersionId, chosenVersionShown]);

  const last = props.messages.at(-1);
  // biome-ignore lint/correctness/useExhaustiveDependencies: re-runs on purpose whenever the conversation grows.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element && stickToBottom.current) element.scrollTop = element.scrollHeight;
  }, [last?.content, last?.id, props.messages.length]);

  // A link to one message (`#message-<id>`, from a file DS Bro made) shows that message, older pages loaded
  // until it is there, instead of the latest ones.
  const linkedId = useRouterState({ select: (state) => state.location.hash }).replace(/^message-/, '');
  const [shownLinked, setShownLinked] = useState(false);
  const linkedLoaded = props.messages.some((message) => message.id === linkedId);
  useLayoutEffect(() => {
    if (!linkedId || shownLinked || props.loading) return;
    if (linkedLoaded) {
      stickToBottom.current = false;
      document.getElementById(`message-${linkedId}`)?.scrollIntoView({ block: 'center' });
      setShownLinked(true);
    } else if (hasOlder && !loadingOlder) loadOlder();
  }, [linkedId, linkedLoaded, shownLinked, props.loading, hasOlder, loadingOlder, loadOlder]);

  return (
    <div
      ref={scroller}
      role="log"
      aria-label="Conversation"
      aria-live="polite"
      onScroll={(event) => {
        const element = event.currentTarget;
        stickToBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < 80;
      }}
      className="mt-3 flex-1 overflow-y-auto rounded-lg border border-slate-200 bg-white p-3"
    >
      <div ref={sentinel} />
      {props.hasOlder ? (
        <div className="mb-2 text-center">
          <Button variant="ghost" onClick={props.loadOlder} disabled={props.loadingOlder}>
            {props.loadingOlder ? 'Loading older messages…' : 'Load older messages'}
          </Button>
        </div>
      ) : null}
      {props.loading ? <Loading label="Loading messages" /> : null}
      {props.error ? <ErrorNote>{props.error}</ErrorNote> : null}
      {!props.loading && props.messages.length === 0 ? (
        <p className="p-6 text-center text-sm text-slate-500">
          Ask DS Bro about your data, e.g. “what files do I have?” or “describe sales.csv”.
        </p>
      ) : null}
      <ol className="flex flex-col gap-3">
        {props.messages.map((message, index) => (
          <li
            key={message.id}
            id={`message-${message.id}`}
            aria-current={message.id === linkedId ? 'true' : undefined}
            className={clsx(
              message.role === 'user' ? 'self-end max-w-[85%]' : 'self-start max-w-full',
              message.id === linkedId && 'rounded-lg ring-2 ring-indigo-500 ring-offset-2',
            )}
          >
            <ChatMessageItem
              message={message}
              projectId={props.projectId}
              followers={props.messages.length - 1 - index}
              actions={props.actions}
              error={props.actionError?.messageId === message.id ? props.actionError.text : undefined}
              focusVersion={
                props.focusVersion?.messageId === message.id ? props.focusVersion.control : undefined
              }
              onVersionFocused={props.onVersionFocused}
            />
          </li>
        ))}
      </ol>
    </div>
  );
}

function Composer({
  sessionId,
  replying,
  onSent,
  onStop,
}: {
  sessionId: string;
  replying: boolean;
  onSent: (message: Message) => void;
  onStop: () => void;
}) {
  const trpc = useTRPC();
  const draftStorageKey = draftKey(sessionId);
  const [draft, setDraft] = useState(() => localStorage.getItem(draftStorageKey) ?? '');
  const send = useMutation(trpc.chat.send.mutationOptions());
  useEffect(() => {
    if (draft) localStorage.setItem(draftStorageKey, draft);
    else localStorage.removeItem(draftStorageKey);
  }, [draft, draftStorageKey]);

  const submit = async () => {
    const content = draft;
    if (!content.trim() || replying || send.isPending) return;
    const result = await send
      .mutateAsync({ sessionId, content, clientMessageId: crypto.randomUUID() })
      .catch(() => null);
    if (result) {
      setDraft('');
      onSent(result.userMessage);
    }
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  };

  return (
    <form
      className="mt-3 flex flex-col gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        void submit();
      }}
    >
      {send.error ? <ErrorNote>{errorMessage(send.error)}</ErrorNote> : null}
      <label className="sr-only" htmlFor="composer">
        Message DS Bro
      </label>
      <textarea
        id="composer"
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={onKeyDown}
        rows={3}
        placeholder="Ask DS Bro about your data (Enter to send, Shift+Enter for a new line)"
        className="w-full resize-y rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500"
      />
      <div className="flex justify-end gap-2">
        {replying ? (
          <Button variant="secondary" onClick={onStop}>
            Stop
          </Button>
        ) : null}
        <Button type="submit" disabled={replying || send.isPending || !draft.trim()}>
          Send
        </Button>
      </div>
    </form>
  );
}
