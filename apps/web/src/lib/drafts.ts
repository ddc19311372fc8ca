/** Unsent chat messages survive a reload in `localStorage`, one per session, until the user logs out. */
const DRAFT_PREFIX = 'leonidas.draft.';

export const draftKey = (sessionId: string) => `${DRAFT_PREFIX}${sessionId}`;

export function clearDrafts(): void {
  const keys = Array.from({ length: localStorage.length }, (_, index) => localStorage.key(index));
  for (const key of keys) if (key?.startsWith(DRAFT_PREFIX)) localStorage.removeItem(key);
}
