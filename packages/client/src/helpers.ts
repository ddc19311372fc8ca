import type { AppRouter, ChatEvent } from '@leonidas/api';
import type { inferRouterOutputs } from '@trpc/server';
import type { LeonidasClient } from './index.js';

type File = inferRouterOutputs<AppRouter>['file']['byId'];

/**
 * The multipart body of a presigned POST (what `file.createUpload` hands out), as storage expects it: every
 * policy field first, the file last. For an upload that reports progress (XMLHttpRequest in a browser).
 */
export function uploadForm(fields: Record<string, string>, file: Blob, filename: string): FormData {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', file, filename);
  return form;
}

export interface UploadInput {
  projectId: string;
  filename: string;
  /** A Blob/File (browser or Node), bytes, a stream of bytes (read into memory), or a file path (Node). */
  data: Blob | Uint8Array | AsyncIterable<Uint8Array> | string;
  contentType?: string;
  /** How often to look again while the server is still processing a large file. */
  pollIntervalMs?: number;
}

/**
 * The whole upload: `file.createUpload`, the multipart POST straight to storage, `file.confirm`, and polling
 * until the file is COMPLETED or FAILED (a FAILED file carries its `failureReason`).
 */
export async function uploadFile(client: LeonidasClient, input: UploadInput): Promise<File> {
  const blob = await toBlob(input.data);
  const contentType =
    input.contentType ??
    (blob.type || (input.filename.toLowerCase().endsWith('.tsv') ? 'text/tab-separated-values' : 'text/csv'));
  const { file, upload } = await client.file.createUpload.mutate({
    projectId: input.projectId,
    filename: input.filename,
    size: blob.size,
    contentType,
  });
  const response = await fetch(upload.url, {
    method: 'POST',
    body: uploadForm(upload.fields, blob, input.filename),
  });
  if (!response.ok) throw new Error(`The storage refused the upload (HTTP ${response.status}).`);
  let result = await client.file.confirm.mutate({ fileId: file.id });
  while (result.status === 'PROCESSING') {
    await new Promise((resolve) => setTimeout(resolve, input.pollIntervalMs ?? 1000));
    result = await client.file.byId.query({ fileId: file.id });
  }
  return result;
}

async function toBlob(data: UploadInput['data']): Promise<Blob> {
  if (data instanceof Blob) return data;
  // A copy typed as plain ArrayBuffer-backed bytes, which is what Blob accepts under the DOM typings.
  if (data instanceof Uint8Array) return new Blob([new Uint8Array(data)]);
  if (typeof data === 'string') {
    // Node only: the file is read lazily from disk, not into memory.
    const { openAsBlob } = await import(/* @vite-ignore */ 'node:fs');
    return openAsBlob(data);
  }
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for await (const chunk of data) chunks.push(new Uint8Array(chunk));
  return new Blob(chunks);
}

export interface AskInput {
  sessionId: string;
  content: string;
  /** Makes a retry safe: the same id never sends twice. Defaults to a random one. */
  clientMessageId?: string;
}

/**
 * Sends a message and yields the reply's events as they stream (deltas, tool calls and results), ending with
 * `message.completed`, `run.cancelled` or `run.failed`. The subscription opens before the send, so nothing is
 * missed.
 */
export async function* ask(client: LeonidasClient, input: AskInput): AsyncGenerator<ChatEvent> {
  // One id for the whole call, so however the subscription is resumed the message is sent once.
  const clientMessageId = input.clientMessageId ?? crypto.randomUUID();
  const queue: ChatEvent[] = [];
  let failure: unknown;
  let wake: (() => void) | undefined;
  let runId: string | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const subscription = client.chat.onEvents.subscribe(
    { sessionId: input.sessionId },
    {
      onStarted: () => {
        client.chat.send
          .mutate({
            sessionId: input.sessionId,
            content: input.content,
            clientMessageId,
          })
          .then(
            (sent) => {
              runId = sent.runId;
              notify();
            },
            (error: unknown) => {
              failure = error;
              notify();
            },
          );
      },
      onData: ({ data }) => {
        queue.push(data);
        notify();
      },
      onError: (error) => {
        failure = error;
        notify();
      },
    },
  );
  try {
    for (;;) {
      if (failure) throw failure;
      // Events of earlier runs (replayed on subscribe) are skipped once our run is known.
      while (runId && queue.length > 0) {
        const event = queue.shift() as ChatEvent;
        if (event.runId !== runId) continue;
        yield event;
        if (
          event.type === 'message.completed' ||
          event.type === 'run.cancelled' ||
          event.type === 'run.failed'
        )
          return;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    subscription.unsubscribe();
  }
}
