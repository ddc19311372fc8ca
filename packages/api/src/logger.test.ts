import { describe, expect, it } from 'vitest';
import { errorSummary } from './logger.js';

describe('errorSummary', () => {
  it('keeps the kind, code and line of an error, never its message', () => {
    const duckDb = Object.assign(
      new Error(
        'Invalid Input Error: CSV Error on Line: 3\nOriginal Line: acme,SECRET-CELL,42\nat /tmp/upload.csv',
      ),
      { code: 'INVALID_INPUT' },
    );
    const summary = errorSummary(duckDb);
    expect(summary).toEqual({ errorType: 'Error', errorCode: 'INVALID_INPUT', line: 3 });
    expect(JSON.stringify(summary)).not.toMatch(/SECRET|upload\.csv|acme/);
    expect(errorSummary('a thrown string with SECRET')).toEqual({ errorType: 'string' });
  });
});
