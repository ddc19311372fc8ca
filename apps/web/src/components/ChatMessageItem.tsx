import * as Collapsible from '@radix-ui/react-collapsible';
import { type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { ChatMessage } from '../lib/chat-state.js';
import { type ExplainedNumber, explainNumbers } from '../lib/checked-numbers.js';
import { Markdown } from './Markdown.js';
import { ToolStepView } from './ToolStepView.js';
import { Button, ConfirmDialog, CopyButton, ErrorNote } from './ui.js';

/** Which button of the version switcher was used, so that focus can stay on it once the other version shows. */
export type VersionControl = 'previous' | 'next';

/** What a message's buttons do to the conversation. Each resolves to whether it worked. */
export interface MessageActions {
  /** A reply is being written: the conversation cannot change until it ends (the server would refuse). */
  locked: boolean;
  edit: (message: ChatMessage, content: string) => Promise<boolean>;
  regenerate: (message: ChatMessage) => Promise<boolean>;
  showVersion: (message: ChatMessage, versionId: string, control: VersionControl) => Promise<boolean>;
  remove: (message: ChatMessage) => Promise<boolean>;
}

const smallButton = 'min-h-6 px-2 py-0.5 text-xs';
/** The arrows between versions: a glyph each, on a target of at least 24 by 24 pixels. */
const arrowButton = 'h-6 w-6 p-0 text-base leading-none';

/** One message of the branch shown, with what can be done to it: edit, regenerate, copy, other versions, delete. */
export function ChatMessageItem({
  message,
  projectId,
  followers,
  actions,
  error,
  focusVersion,
  onVersionFocused,
}: {
  message: ChatMessage;
  projectId: string;
  /** How many messages follow it on the branch shown (they go when it is deleted). */
  followers: number;
  actions: MessageActions;
  error: string | undefined;
  /** Put focus on this version button (the other version was just chosen with it). */
  focusVersion: VersionControl | undefined;
  onVersionFocused: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const editButton = useRef<HTMLButtonElement>(null);
  const refocusEdit = useRef(false);
  useEffect(() => {
    if (editing || !refocusEdit.current) return;
    refocusEdit.current = false;
    editButton.current?.focus();
  }, [editing]);
  const { locked } = actions;
  const isUser = message.role === 'user';

  if (editing) {
    return (
      <>
        <EditForm
          initial={message.content}
          locked={locked}
          onSave={async (content) => {
            const saved = await actions.edit(message, content);
            if (saved) setEditing(false);
            return saved;
          }}
          onCancel={() => {
            refocusEdit.current = true;
            setEditing(false);
          }}
        />
        {error ? <ErrorNote>{error}</ErrorNote> : null}
      </>
    );
  }
  return (
    <>
      {isUser ? (
        <article
          aria-label="Your message"
          className="whitespace-pre-wrap rounded-lg bg-indigo-600 px-3 py-2 text-sm text-white"
        >
          {message.content}
        </article>
      ) : (
        <Reply message={message} projectId={projectId} />
      )}
      <div className={`mt-1 flex flex-wrap items-center gap-1 ${isUser ? 'justify-end' : ''}`}>
        {message.siblingIds.length > 1 ? (
          <VersionSwitcher
            message={message}
            locked={locked}
            onShow={(versionId, control) => actions.showVersion(message, versionId, control)}
            focus={focusVersion}
            onFocused={onVersionFocused}
          />
        ) : null}
        {message.editedAt ? <span className="px-1 text-xs text-slate-600">edited</span> : null}
        {isUser ? (
          <Button
            ref={editButton}
            variant="ghost"
            className={smallButton}
            disabled={locked}
            onClick={() => setEditing(true)}
          >
            Edit
          </Button>
        ) : (
          <>
            <Button
              variant="ghost"
              className={smallButton}
              disabled={locked}
              onClick={() => void actions.regenerate(message)}
            >
              Regenerate
            </Button>
            <CopyButton text={message.content} label="Copy" variant="ghost" />
          </>
        )}
        <ConfirmDialog
          trigger={
            <Button variant="ghost" className={smallButton} disabled={locked}>
              Delete
            </Button>
          }
          title="Delete this message?"
          description={deletionText(followers)}
          confirmLabel="Delete"
          onConfirm={() => actions.remove(message)}
        />
      </div>
      {error ? <ErrorNote>{error}</ErrorNote> : null}
    </>
  );
}

/** What a deletion takes with it, in words. */
export function deletionText(followers: number): string {
  const kept = 'Files DS Bro made are kept.';
  if (followers === 0) return `This message is deleted. ${kept}`;
  const after = followers === 1 ? 'the message after it' : `the ${followers} messages after it`;
  return `This message and ${after} are deleted, along with any other versions below it. ${kept}`;
}

function Reply({ message, projectId }: { message: ChatMessage; projectId: string }) {
  const numbers = useMemo(
    () => (message.numbers ? explainNumbers(message.numbers, message.toolSteps) : undefined),
    [message.numbers, message.toolSteps],
  );
  return (
    <article aria-label="DS Bro's reply" className="rounded-lg bg-slate-50 px-3 py-2 text-sm">
      {message.toolSteps.map((step) => (
        <ToolStepView key={step.callId} step={step} projectId={projectId} />
      ))}
      <Markdown numbers={numbers}>{message.content}</Markdown>
      {numbers && numbers.length > 0 ? <NumberChecks numbers={numbers} /> : null}
      {message.status === 'streaming' ? (
        <span role="status" className="text-xs text-slate-500">
          DS Bro is writing…
        </span>
      ) : null}
      {message.status === 'cancelled' ? <span className="text-xs text-slate-500">Stopped.</span> : null}
      {message.status === 'error' ? (
        <p className="text-xs text-red-700">{message.error ?? 'The reply was interrupted.'}</p>
      ) : null}
    </article>
  );
}

/** Every number of a reply and where it came from, for keyboards and screen readers as much as for mice. */
function NumberChecks({ numbers }: { numbers: ExplainedNumber[] }) {
  const unverified = numbers.filter((number) => number.status === 'unverified').length;
  return (
    <Collapsible.Root className="mt-1 text-xs">
      <Collapsible.Trigger className="text-slate-600 underline">
        Numbers checked: {numbers.length - unverified} verified
        {unverified > 0 ? `, ${unverified} unverified` : ''}
      </Collapsible.Trigger>
      <Collapsible.Content>
        <ul aria-label="Checked numbers" className="mt-1 list-disc pl-5 text-slate-700">
          {numbers.map((number) => (
            <li key={number.start}>
              <span className="font-semibold">{number.text}</span>:{' '}
              {number.status === 'verified'
                ? `verified, from ${number.origin}`
                : `unverified, ${number.origin}`}
            </li>
          ))}
        </ul>
      </Collapsible.Content>
    </Collapsible.Root>
  );
}

/** "‹ 2 / 3 ›" between the versions at a message's place; read as "Version 2 of 3". */
function VersionSwitcher({
  message,
  locked,
  onShow,
  focus,
  onFocused,
}: {
  message: ChatMessage;
  locked: boolean;
  onShow: (versionId: string, control: VersionControl) => unknown;
  focus: VersionControl | undefined;
  onFocused: () => void;
}) {
  const previousButton = useRef<HTMLButtonElement>(null);
  const nextButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (!focus) return;
    const [wanted, other] =
      focus === 'previous'
        ? [previousButton.current, nextButton.current]
        : [nextButton.current, previousButton.current];
    // At the first or last version the button used is disabled: the other one keeps focus in the switcher.
    (wanted && !wanted.disabled ? wanted : other)?.focus();
    onFocused();
  }, [focus, onFocused]);
  const index = message.siblingIds.indexOf(message.id);
  const count = message.siblingIds.length;
  const previous = message.siblingIds[index - 1];
  const next = message.siblingIds[index + 1];
  return (
    <div className="flex items-center gap-1 text-xs text-slate-600">
      <Button
        ref={previousButton}
        variant="ghost"
        className={arrowButton}
        aria-label="Previous version"
        disabled={locked || !previous}
        onClick={() => previous && onShow(previous, 'previous')}
      >
        ‹
      </Button>
      <span className="tabular-nums">
        <span aria-hidden="true">
          {index + 1} / {count}
        </span>
        <span className="sr-only">
          Version {index + 1} of {count}
        </span>
      </span>
      <Button
        ref={nextButton}
        variant="ghost"
        className={arrowButton}
        aria-label="Next version"
        disabled={locked || !next}
        onClick={() => next && onShow(next, 'next')}
      >
        ›
      </Button>
    </div>
  );
}

/** A question rewritten in place: Enter reruns it, Shift+Enter adds a line, Escape leaves it as it was. */
function EditForm({
  initial,
  locked,
  onSave,
  onCancel,
}: {
  initial: string;
  locked: boolean;
  onSave: (content: string) => Promise<boolean>;
  onCancel: () => void;
}) {
  const [draft, setDraft] = useState(initial);
  const [saving, setSaving] = useState(false);
  const field = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  useEffect(() => {
    const element = field.current;
    if (!element) return;
    element.focus();
    element.setSelectionRange(element.value.length, element.value.length);
  }, []);
  const save = async () => {
    if (!draft.trim() || saving || locked) return;
    setSaving(true);
    if (!(await onSave(draft))) setSaving(false);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      onCancel();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void save();
    }
  };
  return (
    <form
      className="flex w-[36rem] max-w-full flex-col gap-2"
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      <label htmlFor={id} className="sr-only">
        Edit your message
      </label>
      <textarea
        ref={field}
        id={id}
        value={draft}
        onChange={(event) => setDraft(event.target.value)}
        onKeyDown={onKeyDown}
        aria-describedby={`${id}-keys`}
        rows={Math.min(10, Math.max(2, draft.split('\n').length))}
        className="w-full resize-y rounded-md border border-slate-300 px-3 py-2 text-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500"
      />
      <div className="flex flex-wrap items-center justify-end gap-2">
        <span id={`${id}-keys`} className="mr-auto text-xs text-slate-600">
          Enter asks DS Bro again from here, Shift+Enter adds a line, Escape cancels.
        </span>
        <Button variant="secondary" onClick={onCancel}>
          Cancel
        </Button>
        <Button type="submit" disabled={locked || saving || !draft.trim()}>
          Save
        </Button>
      </div>
    </form>
  );
}
