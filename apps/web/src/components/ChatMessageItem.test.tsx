import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import type { ChatMessage } from '../lib/chat-state.js';
import { ChatMessageItem, deletionText, type MessageActions } from './ChatMessageItem.js';

// Tool steps reach the signed-in API client, which needs a browser; these messages have none.
vi.mock('./ToolStepView.js', () => ({ ToolStepView: () => null }));

const question: ChatMessage = {
  id: '01B',
  parentId: null,
  siblingIds: ['01A', '01B', '01C'],
  role: 'user',
  content: 'what files do I have?',
  status: 'complete',
  toolSteps: [],
};
const actions = (locked: boolean): MessageActions => ({
  locked,
  edit: async () => true,
  regenerate: async () => true,
  showVersion: async () => true,
  remove: async () => true,
});
const render = (message: ChatMessage, locked = false) =>
  renderToStaticMarkup(
    <ChatMessageItem
      message={message}
      projectId="p"
      followers={2}
      actions={actions(locked)}
      error={undefined}
      focusVersion={undefined}
      onVersionFocused={() => {}}
    />,
  );
const button = (html: string, name: string) =>
  new RegExp(`<button[^>]*>${name}</button>|<button[^>]*aria-label="${name}"[^>]*>`).exec(html)?.[0] ?? '';

describe('ChatMessageItem', () => {
  it('shows where a version stands, in words for screen readers, with both arrows while there are more', () => {
    const html = render(question);
    expect(html).toContain(
      '<span aria-hidden="true">2 / 3</span><span class="sr-only">Version 2 of 3</span>',
    );
    expect(button(html, 'Previous version')).not.toContain('disabled=""');
    expect(button(html, 'Next version')).not.toContain('disabled=""');
    expect(button(html, 'Edit')).not.toContain('disabled=""');
    const last = render({ ...question, id: '01C' });
    expect(last).toContain('Version 3 of 3');
    expect(button(last, 'Next version')).toContain('disabled=""');
    expect(render({ ...question, siblingIds: ['01B'] })).not.toContain('Version');
  });

  it('locks what would change the conversation while a reply is written, but not copying', () => {
    const reply = render({ ...question, role: 'assistant', content: 'None yet.' }, true);
    for (const name of ['Previous version', 'Next version', 'Regenerate', 'Delete'])
      expect(button(reply, name), name).toContain('disabled=""');
    expect(button(reply, 'Copy')).not.toContain('disabled=""');
    expect(reply).not.toContain('>Edit<');
    expect(button(render(question, true), 'Edit')).toContain('disabled=""');
  });

  it('says what a deletion takes with it', () => {
    expect(deletionText(0)).toBe('This message is deleted. Files DS Bro made are kept.');
    expect(deletionText(1)).toBe(
      'This message and the message after it are deleted, along with any other versions below it. Files DS Bro made are kept.',
    );
    expect(deletionText(3)).toBe(
      'This message and the 3 messages after it are deleted, along with any other versions below it. Files DS Bro made are kept.',
    );
  });
});
