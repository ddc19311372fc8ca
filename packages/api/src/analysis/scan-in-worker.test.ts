import { describe, expect, it } from 'vitest';
import { sourceScanWorker } from '../../test/helpers.js';
import { CsvScanner } from './csv-scan.js';
import { ScanInWorker } from './scan-in-worker.js';

/** Feeds `content` in chunks as a download does, waiting when the worker asks; the pushes' answers and the scan. */
async function scanInWorker(content: Buffer, size: number) {
  const scan = new ScanInWorker(sourceScanWorker());
  try {
    const answers: boolean[] = [];
    for (let offset = 0; offset < content.length; offset += size) {
      const answer = await scan.push(content.subarray(offset, offset + size));
      answers.push(answer);
      if (!answer) break;
      // The next chunk arrives on a later turn of the event loop, as from a socket.
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { answers, result: await scan.end() };
  } finally {
    await scan.close();
  }
}

function scanInLine(content: Buffer, size: number) {
  const scanner = new CsvScanner();
  for (let offset = 0; offset < content.length; offset += size) {
    const failure = scanner.push(content.subarray(offset, offset + size));
    if (failure) return { ok: false, reason: failure };
  }
  return scanner.end();
}

describe('a scan in a worker thread', () => {
  it('gives the scan in line gives, shapes included', async () => {
    const rows = Array.from(
      { length: 50_000 },
      (_, i) => `${i},${(i * 0.25).toFixed(2)},"x, ${i % 7}",${i % 2 === 0}`,
    );
    const content = Buffer.from(`id,amount,note,flag\n${rows.join('\n')}\n`);
    const { answers, result } = await scanInWorker(content, 64 * 1024);
    expect(answers.every((answer) => answer)).toBe(true);
    expect(result).toEqual(scanInLine(content, 64 * 1024));
    expect(result).toMatchObject({ ok: true, records: 50_001, fields: 4 });
  });

  it('gives the same scan when the first record spans many chunks, and chunks are larger or smaller than its buffers', async () => {
    // The first record is held until it ends (to choose the delimiter) while the worker hands each chunk's memory
    // back and the next chunks are copied into it: what is held must not be overwritten.
    const names = Array.from({ length: 400 }, (_, i) => `column number ${i} with a long name`);
    const rows = Array.from({ length: 2_000 }, (_, r) => names.map((_, c) => String((r * 400 + c) % 997)));
    const content = Buffer.from(`${names.join(';')}\n${rows.map((row) => row.join(';')).join('\n')}\n`);
    for (const size of [1024, 100 * 1024]) {
      const { answers, result } = await scanInWorker(content, size);
      expect(answers.every((answer) => answer)).toBe(true);
      expect(result).toEqual(scanInLine(content, size));
      expect(result).toMatchObject({ ok: true, delimiter: ';', records: 2_001, fields: 400 });
      if (result.ok) expect(result.firstRecord).toEqual(names);
    }
  });

  it("leaves the caller's chunks as they were", async () => {
    const scan = new ScanInWorker(sourceScanWorker());
    try {
      const chunks = [Buffer.from('a,b\n1,'), Buffer.from('2\n3,4\n')];
      for (const chunk of chunks) expect(await scan.push(chunk)).toBe(true);
      expect(await scan.end()).toMatchObject({ ok: true, records: 3 });
      expect(chunks.map((chunk) => chunk.toString())).toEqual(['a,b\n1,', '2\n3,4\n']);
    } finally {
      await scan.close();
    }
  });

  it('refuses a file for the reason the scan in line gives, and then tells the download to stop', async () => {
    const rows = Array.from({ length: 200_000 }, (_, i) => (i === 1_000 ? '1,2,3' : `${i},${i}`));
    const content = Buffer.from(`a,b\n${rows.join('\n')}\n`);
    const scan = new ScanInWorker(sourceScanWorker());
    try {
      expect(await scan.push(content)).toBe(true);
      // Once the worker has reported the failure (it runs on its own time), every further chunk is refused.
      let answer: boolean | Promise<boolean> = true;
      for (let tries = 0; answer === true && tries < 1000; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        answer = scan.push(Buffer.from('1,2\n'));
      }
      expect(answer).toBe(false);
      const reason =
        'Line 1002 has 3 fields, but the header (line 1) has 2. Every row needs the same number of fields.';
      expect(await scan.end()).toEqual({ ok: false, reason });
      expect(scanInLine(content, 16 * 1024)).toEqual({ ok: false, reason });
    } finally {
      await scan.close();
    }
  });

  it('holds the download back while the worker is behind', async () => {
    const scan = new ScanInWorker(sourceScanWorker());
    try {
      const chunk = Buffer.from(`${'1,2\n'.repeat(256 * 1024)}`);
      const answers = [scan.push(Buffer.from('a,b\n')), ...Array.from({ length: 6 }, () => scan.push(chunk))];
      // 6 MB posted at once (1 MB a chunk): past 4 MB queued, a push waits until the worker catches up.
      expect(answers.slice(0, 4)).toEqual([true, true, true, true]);
      for (const answer of answers.slice(4)) expect(answer).toBeInstanceOf(Promise);
      expect(await Promise.all(answers.slice(4))).toEqual([true, true, true]);
      expect(await scan.end()).toMatchObject({ ok: true, records: 6 * 256 * 1024 + 1 });
    } finally {
      await scan.close();
    }
  });

  it('bounds the memory of what waits for the worker, whatever the size of the chunks', async () => {
    for (const size of [1024, 40 * 1024]) {
      const scan = new ScanInWorker(sourceScanWorker());
      try {
        const chunk = Buffer.from('1,2\n'.repeat(size / 4));
        const before = process.memoryUsage().arrayBuffers;
        let answer = scan.push(Buffer.from('a,b\n'));
        let pushed = 0;
        // A fast socket: chunks come back to back until the download is told to wait.
        while (answer === true) {
          answer = scan.push(chunk);
          pushed += size;
        }
        const grown = process.memoryUsage().arrayBuffers - before;
        // About 4 MB of copies wait; a 64 KB buffer a 1 KB chunk would have been 256 MB.
        expect(grown).toBeLessThan(16 * 1024 * 1024);
        expect(pushed).toBeGreaterThan(size === 1024 ? 3 * 1024 * 1024 : 2 * 1024 * 1024);
        expect(await answer).toBe(true);
        expect(await scan.end()).toMatchObject({ ok: true, records: pushed / 4 + 1 });
      } finally {
        await scan.close();
      }
    }
  });

  it('tells the download to stop when its worker dies, a push waiting for it included', async () => {
    const worker = sourceScanWorker();
    const scan = new ScanInWorker(worker);
    try {
      const chunk = Buffer.from('1,2\n'.repeat(256 * 1024));
      const answers = [scan.push(Buffer.from('a,b\n')), ...Array.from({ length: 6 }, () => scan.push(chunk))];
      const waiting = answers.at(-1);
      expect(waiting).toBeInstanceOf(Promise);
      // Before the worker has even started: it scanned nothing.
      await worker.terminate();
      expect(await waiting).toBe(false);
      expect(scan.push(chunk)).toBe(false);
      await expect(scan.end()).rejects.toThrow(/worker stopped/);
    } finally {
      await scan.close();
    }
  });

  it('fails the scan when its worker dies', async () => {
    const scan = new ScanInWorker(sourceScanWorker());
    expect(scan.push(Buffer.from('a,b\n1,2\n'))).toBe(true);
    await scan.close();
    await expect(scan.end()).rejects.toThrow(/worker stopped/);
  });
});
