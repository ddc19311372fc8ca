import { createHash } from 'node:crypto';
import { getFile } from '@leonidas/db';
import { showAsExpiredUpload } from '@leonidas/db/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ZodError } from 'zod';
import {
  capturingLogger,
  createTestApi,
  expectTrpcError,
  postToPresignedUrl,
  signUp,
  type TestApi,
  uploadFile,
} from '../../test/helpers.js';
import { runTool } from '../chat/tools.js';
import { previewObjectKey, tableObjectKey } from './keys.js';
import { sweepExpiredUploads } from './sweep.js';

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

type Account = Awaited<ReturnType<typeof signUp>>;

async function uploadAndConfirm(
  account: Account,
  projectId: string,
  content: string | Buffer,
  filename?: string,
) {
  const { file } = await uploadFile(account, projectId, content, { filename });
  return account.as.file.confirm({ fileId: file.id });
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('the upload lifecycle', () => {
  it('uploads through a presigned POST, profiles, previews, downloads, renames and deletes', async () => {
    const alice = await signUp(api);
    const project = await alice.as.project.create({ name: 'Sales' });
    const csv =
      'region,units,price,day\nNorth,3,9.5,2024-01-01\nSouth,5,12.25,2024-01-02\n"East, far",,7,2024-01-03\n';

    const { file, upload } = await alice.as.file.createUpload({
      projectId: project.id,
      filename: 'Q1 sales.csv',
      size: Buffer.byteLength(csv),
      contentType: 'text/csv',
    });
    expect(file).toMatchObject({ status: 'UPLOADING', source: 'USER_UPLOAD', filename: 'Q1 sales.csv' });
    expect(upload.fields.key).toBe(`projects/${project.id}/files/${file.id}`);
    expect(upload.expiresAt.getTime() - api.clock.now()).toBeLessThanOrEqual(15 * 60_000);
    const policy = JSON.parse(Buffer.from(upload.fields.Policy ?? '', 'base64').toString()) as {
      conditions: unknown[];
    };
    expect(policy.conditions).toContainEqual(['content-length-range', 1, Buffer.byteLength(csv)]);
    expect(policy.conditions).toContainEqual(['eq', '$Content-Type', 'text/csv']);
    expect(policy.conditions).toContainEqual(['eq', '$tagging', upload.fields.tagging]);
    expect(upload.fields.tagging).toContain('<Key>leonidas-state</Key><Value>pending</Value>');
    await expectTrpcError(alice.as.file.preview({ fileId: file.id }), 'CONFLICT');

    expect(await postToPresignedUrl(upload, csv)).toBe(204);
    const confirmed = await alice.as.file.confirm({ fileId: file.id });
    expect(confirmed.status).toBe('COMPLETED');
    expect(confirmed.metadata).toEqual({
      rowCount: 3,
      delimiter: ',',
      hasHeader: true,
      encoding: 'utf-8',
      columns: [
        { name: 'region', type: 'string', nullCount: 0, distinctCount: 3 },
        { name: 'units', type: 'integer', nullCount: 1, distinctCount: 2, min: 3, max: 5, mean: 4 },
        {
          name: 'price',
          type: 'number',
          nullCount: 0,
          distinctCount: 3,
          min: 7,
          max: 12.25,
          mean: (9.5 + 12.25 + 7) / 3,
        },
        { name: 'day', type: 'date', nullCount: 0, distinctCount: 3, min: '2024-01-01', max: '2024-01-03' },
      ],
    });
    // Confirming again changes nothing.
    expect(await alice.as.file.confirm({ fileId: file.id })).toEqual(confirmed);
    expect(await alice.as.file.byId({ fileId: file.id })).toEqual(confirmed);
    const tags = await api.deps.storage.tagsOf(`projects/${project.id}/files/${file.id}`);
    expect(tags).toEqual({ 'leonidas-state': 'confirmed' });

    expect(await alice.as.file.preview({ fileId: file.id, limit: 2 })).toEqual({
      columns: ['region', 'units', 'price', 'day'],
      rows: [
        ['North', 3, 9.5, '2024-01-01'],
        ['South', 5, 12.25, '2024-01-02'],
      ],
    });
    expect((await alice.as.file.preview({ fileId: file.id })).rows).toHaveLength(3);

    const renamed = await alice.as.file.rename({ fileId: file.id, filename: '  Ventes T1 é.csv ' });
    expect(renamed.filename).toBe('Ventes T1 é.csv');
    const download = await alice.as.file.downloadUrl({ fileId: file.id });
    const response = await fetch(download.url);
    expect(response.status).toBe(200);
    expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(csv));
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="Ventes T1 e.csv"; filename*=UTF-8''Ventes%20T1%20%C3%A9.csv`,
    );

    expect((await alice.as.file.list({ projectId: project.id })).items.map((f) => f.id)).toEqual([file.id]);
    await expect(alice.as.file.delete({ fileId: file.id })).resolves.toEqual({ ok: true });
    await expectTrpcError(alice.as.file.byId({ fileId: file.id }), 'NOT_FOUND');
    expect(await api.deps.storage.listKeys(`projects/${project.id}/`)).toEqual([]);
  });

  it('finishes large work in the background and the file can be polled', async () => {
    const patient = await createTestApi({ CONFIRM_WAIT_MS: '0' });
    onTestFinished(() => patient.close());
    const bob = await signUp(patient);
    const project = await bob.as.project.create({ name: 'Later' });
    const { file, upload } = await bob.as.file.createUpload({
      projectId: project.id,
      filename: 'slow.csv',
      size: 12,
      contentType: 'text/csv',
    });
    await postToPresignedUrl(upload, 'a,b\n1,2\n3,4\n');
    const answer = await bob.as.file.confirm({ fileId: file.id });
    expect(answer.status).toBe('PROCESSING');
    await patient.deps.background.drain(30_000);
    expect(await bob.as.file.byId({ fileId: file.id })).toMatchObject({
      status: 'COMPLETED',
      metadata: { rowCount: 2 },
    });
  });

  it('accepts a BOM, semicolons, tabs, quoted newlines and non-ASCII text', async () => {
    const carol = await signUp(api);
    const project = await carol.as.project.create({ name: 'Formats' });
    const semicolons = await uploadAndConfirm(
      carol,
      project.id,
      '\uFEFFnom;ville\n"Zoë ""Z""";"Zürich\nCH"\nÅsa;Malmö\n',
    );
    expect(semicolons).toMatchObject({ status: 'COMPLETED', metadata: { delimiter: ';', rowCount: 2 } });
    const tabs = await uploadAndConfirm(carol, project.id, 'a\tb\n1\t2\n', 'table.tsv');
    expect(tabs).toMatchObject({
      status: 'COMPLETED',
      contentType: 'text/csv',
      metadata: { delimiter: '\t' },
    });
  });
});

describe('files that cannot be used', () => {
  it.each([
    ['a header without rows', 'a,b,c\n', 'The file has a header row but no data rows.'],
    [
      'binary data',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
      /not look like a text file/,
    ],
    [
      'Windows-1252 text',
      Buffer.concat([Buffer.from('name\nJos'), Buffer.from([0xe9]), Buffer.from('\n')]),
      /not UTF-8 text .* line 2\)/,
    ],
    ['ragged rows', 'a,b\n1,2\n3,4\n5\n', /^Line 4 has 1 field, but the header \(line 1\) has 2/],
    ['unclosed quoting', 'a,b\n1,"2\n3,4\n', /starts on line 2 is never closed/],
  ])('marks %s FAILED with a reason', async (_label, content, reason) => {
    const dave = await signUp(api);
    const project = await dave.as.project.create({ name: 'Bad files' });
    const { file } = await uploadFile(dave, project.id, content, {
      declaredSize: Math.max(Buffer.byteLength(content), 1),
    });
    const result = await dave.as.file.confirm({ fileId: file.id });
    expect(result.status).toBe('FAILED');
    expect(result.failureReason).toMatch(reason);
    expect(result.metadata).toBeUndefined();
    await expectTrpcError(dave.as.file.preview({ fileId: file.id }), 'CONFLICT');
  });

  it('refuses to confirm an upload that has not arrived', async () => {
    const erin = await signUp(api);
    const project = await erin.as.project.create({ name: 'Nothing yet' });
    const { file } = await erin.as.file.createUpload({
      projectId: project.id,
      filename: 'x.csv',
      size: 10,
      contentType: 'text/csv',
    });
    const error = await expectTrpcError(erin.as.file.confirm({ fileId: file.id }), 'CONFLICT');
    expect(error.message).toMatch(/has not arrived yet/);
    expect((await erin.as.file.byId({ fileId: file.id })).status).toBe('UPLOADING');
    await expectTrpcError(erin.as.file.downloadUrl({ fileId: file.id }), 'CONFLICT');
  });

  it('refuses an empty upload at the store, and fails one a lenient store took as empty', async () => {
    const erin = await signUp(api);
    const project = await erin.as.project.create({ name: 'Empty' });
    const { file, upload } = await erin.as.file.createUpload({
      projectId: project.id,
      filename: 'empty.csv',
      size: 10,
      contentType: 'text/csv',
    });
    // The policy's content-length-range starts at 1 byte, as on S3.
    expect(await postToPresignedUrl(upload, '')).toBe(400);
    await expectTrpcError(erin.as.file.confirm({ fileId: file.id }), 'CONFLICT');

    await api.putObjectDirectly(upload.fields.key ?? '', '');
    const result = await erin.as.file.confirm({ fileId: file.id });
    expect(result).toMatchObject({ status: 'FAILED', failureReason: 'The file is empty.' });
  });

  it('refuses an upload larger than declared at the store; one a lenient store took fails and goes', async () => {
    const frank = await signUp(api);
    const project = await frank.as.project.create({ name: 'Too big' });
    const content = 'a,b\n1,2\n3,4\n5,6\n';
    const { file, upload } = await frank.as.file.createUpload({
      projectId: project.id,
      filename: 'big.csv',
      size: 5,
      contentType: 'text/csv',
    });
    expect(await postToPresignedUrl(upload, content)).toBe(400);
    await expectTrpcError(frank.as.file.confirm({ fileId: file.id }), 'CONFLICT');

    await api.putObjectDirectly(upload.fields.key ?? '', content);
    const result = await frank.as.file.confirm({ fileId: file.id });
    expect(result.status).toBe('FAILED');
    expect(result.failureReason).toBe(
      `The uploaded file is ${content.length} bytes, more than the 5 bytes announced for it.`,
    );
    expect(await api.deps.storage.size(`projects/${project.id}/files/${file.id}`)).toBeNull();
  });

  it('keeps the file UPLOADING and answers a short error when storage is down', async () => {
    const fragile = await createTestApi();
    let closed = false;
    onTestFinished(async () => {
      if (!closed) await fragile.close();
    });
    const gina = await signUp(fragile);
    const project = await gina.as.project.create({ name: 'Outage' });
    const { file } = await uploadFile(gina, project.id, 'a,b\n1,2\n');
    await fragile.close();
    closed = true;
    const error = await expectTrpcError(gina.as.file.confirm({ fileId: file.id }), 'SERVICE_UNAVAILABLE');
    expect(error.message).toMatch(/cannot reach its file storage/);
    expect((await getFile(fragile.deps.db, file.id))?.status).toBe('UPLOADING');
  });
});

describe('a preview lost or changed in storage', () => {
  // Values of every kind a preview gives: 64-bit integers beyond 2^53, nan and ±inf, dates, times, nulls.
  const csv = [
    'id,big,ratio,day,at,ok,note',
    '1,9007199254740993,0.25,2024-01-31,2024-01-31 10:20:30,true,"a, b"',
    '2,-5,inf,-inf,1999-12-31 23:59:59,false,',
    '3,,-inf,,,,"<img src=x onerror=alert(1)>"',
    '4,7,nan,2000-02-29,2000-02-29 00:00:00,true,plain',
    '5,8,-0.0,2000-03-01,2000-03-01 00:00:01,false,last',
  ].join('\n');

  async function processedFile() {
    const owner = await signUp(api);
    const project = await owner.as.project.create({ name: 'Previews' });
    const file = await uploadAndConfirm(owner, project.id, csv, 'kinds.csv');
    expect(file.status).toBe('COMPLETED');
    const describe = (rows: number) =>
      runTool(
        api.deps,
        { userId: owner.user.id, projectId: project.id, sessionId: 'none', messageId: 'none' },
        'describe_file',
        { filename: 'kinds.csv', rows },
      ) as Promise<{ firstRows: unknown }>;
    return {
      owner,
      file,
      preview: (limit?: number) => owner.as.file.preview({ fileId: file.id, limit }),
      describe,
      keys: {
        csv: `projects/${project.id}/files/${file.id}`,
        preview: previewObjectKey(project.id, file.id),
        table: tableObjectKey(project.id, file.id),
      },
    };
  }

  it('reads the same rows from the table when the stored preview is gone, garbled or not a preview', async () => {
    const { file, preview, describe, keys } = await processedFile();
    const stored = await preview();
    expect(stored.rows).toHaveLength(5);
    // What the stored preview says, checked against the file itself.
    expect(stored.columns).toEqual(['id', 'big', 'ratio', 'day', 'at', 'ok', 'note']);
    expect(stored.rows.map((row) => row[1])).toEqual(['9007199254740993', -5, null, 7, 8]);
    expect(stored.rows.map((row) => row[2])).toEqual([0.25, 'inf', '-inf', 'nan', 0]);
    expect(stored.rows[1]?.slice(3, 5)).toEqual(['-infinity', '1999-12-31T23:59:59']);
    const storedFirstTwo = { columns: stored.columns, rows: stored.rows.slice(0, 2) };
    expect((await describe(2)).firstRows).toEqual(storedFirstTwo);

    for (const damage of [
      () => api.deps.storage.delete(keys.preview),
      () => api.putObjectDirectly(keys.preview, '{"columns": ["id"'),
      () => api.putObjectDirectly(keys.preview, JSON.stringify({ columns: ['x'], rows: [['forged']] })),
      () => api.putObjectDirectly(keys.preview, JSON.stringify({ columns: stored.columns, rows: 'forged' })),
      () =>
        api.putObjectDirectly(keys.preview, JSON.stringify({ columns: stored.columns, rows: [['forged']] })),
    ]) {
      await damage();
      expect(await preview()).toEqual(stored);
      expect(await preview(2)).toEqual(storedFirstTwo);
      expect((await describe(2)).firstRows).toEqual(storedFirstTwo);
    }

    // Table gone too, from storage and from the local cache: built again from the CSV.
    await api.deps.storage.delete(keys.table);
    await api.deps.tables.forget(file.id);
    expect(await preview()).toEqual(stored);
    expect(await api.deps.storage.size(keys.table)).toBeGreaterThan(0);
  });

  it('says the data is gone when nothing is left to read it from', async () => {
    const { file, preview, describe, keys } = await processedFile();
    for (const key of Object.values(keys)) await api.deps.storage.delete(key);
    await api.deps.tables.forget(file.id);
    const error = await expectTrpcError(preview(), 'CONFLICT');
    expect(error.message).toBe("This file's data is gone from storage. Delete it and upload it again.");
    // The model is told the same, as a tool's refusal.
    expect(await describe(2)).toEqual({ error: error.message });
  });
});

describe('what the log keeps of a failed file', () => {
  it('never a row, a cell, a file name or a temp path: the kind of error, the file id, the line', async () => {
    const logger = capturingLogger();
    // A memory limit DuckDB cannot profile in, so that its failure path is logged too.
    const tight = await createTestApi({ DUCKDB_MEMORY_LIMIT: '1MB' }, { logger });
    onTestFinished(() => tight.close());
    const owner = await signUp(tight);
    const project = await owner.as.project.create({ name: 'Markers' });
    const MARKER = 'MARKER-7f3a';
    const upload = async (filename: string, content: string) => {
      const bytes = Buffer.from(content);
      const { file, upload: form } = await owner.as.file.createUpload({
        projectId: project.id,
        filename,
        size: bytes.length,
        contentType: 'text/csv',
      });
      expect(await postToPresignedUrl(form, bytes)).toBe(204);
      return owner.as.file.confirm({ fileId: file.id });
    };
    const ragged = await upload('ragged.csv', `a,b\n1,2\n${MARKER},2,3\n`);
    expect(ragged).toMatchObject({
      status: 'FAILED',
      failureReason: expect.stringMatching(/^Line 3 has 3 fields/),
    });
    const longRow = await upload('long.csv', `a,b\n1,"${MARKER}${'x'.repeat(1_100_000)}"\n`);
    expect(longRow.failureReason).toMatch(/line 2 is longer than 1 MB/);
    const rows = Array.from({ length: 20_000 }, (_, i) => `${i},${MARKER}-${i}-${'z'.repeat(40)}`).join('\n');
    const tooBig = await upload(`${MARKER}.csv`, `a,b\n${rows}\n`);
    expect(tooBig).toMatchObject({
      status: 'FAILED',
      failureReason: expect.stringMatching(/more memory to profile/),
    });

    const log = logger.lines.join('\n');
    expect(log).toContain(tooBig.id);
    expect(log).toContain('DuckDB could not profile a scanned CSV');
    expect(log).not.toContain(MARKER);
    expect(log).not.toContain('leonidas-file-');
  });
});

describe('another account attacking the object store', () => {
  it('gets nothing unsigned, and cannot bend its own upload form onto anyone else', async () => {
    const alice = await signUp(api, 'alice');
    const aliceProject = await alice.as.project.create({ name: 'Private numbers' });
    const secret = 'account,revenue\nacme,100\nglobex,250\n';
    const aliceFile = await uploadAndConfirm(alice, aliceProject.id, secret, 'revenue.csv');
    expect(aliceFile.status).toBe('COMPLETED');
    const previewBefore = await alice.as.file.preview({ fileId: aliceFile.id });
    const aliceObject = `projects/${aliceProject.id}/files/${aliceFile.id}`;
    const alicePreview = previewObjectKey(aliceProject.id, aliceFile.id);

    const bob = await signUp(api, 'bob');
    const bobProject = await bob.as.project.create({ name: 'Mine' });
    const forged = 'account,revenue\nacme,0\n';
    const { upload } = await bob.as.file.createUpload({
      projectId: bobProject.id,
      filename: 'mine.csv',
      size: 64,
      contentType: 'text/csv',
    });
    const postWith = (fields: Record<string, string>, body: string = forged) =>
      postToPresignedUrl({ url: upload.url, fields: { ...upload.fields, ...fields } }, body);
    const flipped = (value: string) => `${value.slice(0, -1)}${value.endsWith('0') ? '1' : '0'}`;

    // Unsigned requests: no reading, listing, writing or deleting anyone's objects.
    const bucketUrl = upload.url;
    expect((await fetch(`${bucketUrl}/${aliceObject}`)).status).toBe(403);
    expect((await fetch(`${bucketUrl}?list-type=2`)).status).toBe(403);
    expect((await fetch(`${bucketUrl}/${aliceObject}`, { method: 'PUT', body: forged })).status).toBe(403);
    expect((await fetch(`${bucketUrl}/${aliceObject}`, { method: 'DELETE' })).status).toBe(403);

    // Bob's own form, bent: each is refused when he uploads.
    expect(await postWith({ key: aliceObject })).toBe(403);
    expect(
      await postWith({ key: alicePreview }, JSON.stringify({ columns: ['x'], rows: [['forged']] })),
    ).toBe(403);
    expect(await postWith({ 'Content-Type': 'text/html' }, '<script>alert(1)</script>')).toBe(403);
    expect(await postWith({ 'X-Amz-Signature': flipped(upload.fields['X-Amz-Signature'] ?? '') })).toBe(403);
    expect(await postWith({}, 'x'.repeat(65))).toBe(400);
    api.storeClock.advance(16 * 60_000);
    try {
      expect(await postWith({})).toBe(403);
    } finally {
      api.storeClock.advance(-16 * 60_000);
    }
    // The form as issued still works, for Bob's own key only.
    expect(await postWith({})).toBe(204);

    // Alice's data is untouched.
    expect(await alice.as.file.preview({ fileId: aliceFile.id })).toEqual(previewBefore);
    const download = await alice.as.file.downloadUrl({ fileId: aliceFile.id });
    expect(await (await fetch(download.url)).text()).toBe(secret);
  });
});

describe('access and input', () => {
  it("gives another user NOT_FOUND for every file procedure on someone's files", async () => {
    const owner = await signUp(api, 'owner');
    const intruder = await signUp(api, 'intruder');
    const project = await owner.as.project.create({ name: 'Mine' });
    const file = await uploadAndConfirm(owner, project.id, 'a,b\n1,2\n');

    const as = intruder.as.file;
    const fileId = file.id;
    await expectTrpcError(
      as.createUpload({ projectId: project.id, filename: 'x.csv', size: 3, contentType: 'text/csv' }),
      'NOT_FOUND',
    );
    await expectTrpcError(as.list({ projectId: project.id }), 'NOT_FOUND');
    await expectTrpcError(as.byId({ fileId }), 'NOT_FOUND');
    await expectTrpcError(as.confirm({ fileId }), 'NOT_FOUND');
    await expectTrpcError(as.preview({ fileId }), 'NOT_FOUND');
    await expectTrpcError(as.downloadUrl({ fileId }), 'NOT_FOUND');
    await expectTrpcError(as.rename({ fileId, filename: 'stolen.csv' }), 'NOT_FOUND');
    await expectTrpcError(as.delete({ fileId }), 'NOT_FOUND');
    expect(await owner.as.file.byId({ fileId })).toEqual(file);
  });

  const valid = { filename: 'ok.csv', size: 10, contentType: 'text/csv' };
  it.each([
    ['an empty name', { filename: '  ' }],
    ['a path', { filename: '../etc/passwd.csv' }],
    ['a backslash', { filename: 'a\\b.csv' }],
    ['a control character', { filename: 'a\u0007b.csv' }],
    ['a 256-character name', { filename: `${'n'.repeat(252)}.csv` }],
    ['another extension', { filename: 'sheet.xlsx' }],
    ['size 0', { size: 0 }],
    ['a negative size', { size: -5 }],
    ['a fractional size', { size: 1.5 }],
    ['a size above the limit', { size: 100 * 1024 * 1024 + 1 }],
    ['a size as text', { size: '10' }],
    ['an image content type', { contentType: 'image/png' }],
    ['an unknown field', { bucket: 'other' }],
  ])('refuses an upload with %s as BAD_REQUEST with field errors', async (_label, override) => {
    const henry = await signUp(api);
    const project = await henry.as.project.create({ name: 'Inputs' });
    const input = { projectId: project.id, ...valid, ...override };
    const error = await expectTrpcError(henry.as.file.createUpload(input as never), 'BAD_REQUEST');
    const cause = error.cause as { fieldErrors?: Record<string, string[]> } | ZodError;
    expect(cause instanceof ZodError || Object.keys(cause.fieldErrors ?? {}).length > 0).toBe(true);
  });

  it('refuses bad preview limits and names on rename', async () => {
    const ivy = await signUp(api);
    const project = await ivy.as.project.create({ name: 'More inputs' });
    const file = await uploadAndConfirm(ivy, project.id, 'a\n1\n');
    await expectTrpcError(ivy.as.file.preview({ fileId: file.id, limit: 0 }), 'BAD_REQUEST');
    await expectTrpcError(ivy.as.file.preview({ fileId: file.id, limit: 201 }), 'BAD_REQUEST');
    await expectTrpcError(ivy.as.file.rename({ fileId: file.id, filename: 'x/y.csv' }), 'BAD_REQUEST');
    await expectTrpcError(
      ivy.as.file.list({ projectId: project.id, source: 'EMAIL' } as never),
      'BAD_REQUEST',
    );
  });

  it('lists newest first, pages, and filters by source', async () => {
    const jack = await signUp(api);
    const project = await jack.as.project.create({ name: 'Many' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { file } = await jack.as.file.createUpload({
        projectId: project.id,
        filename: `f${i}.csv`,
        size: 5,
        contentType: '',
      });
      ids.push(file.id);
    }
    const first = await jack.as.file.list({ projectId: project.id, limit: 3 });
    const second = await jack.as.file.list({
      projectId: project.id,
      limit: 3,
      cursor: first.nextCursor ?? undefined,
    });
    expect([...first.items, ...second.items].map((f) => f.id)).toEqual([...ids].reverse());
    expect(second.nextCursor).toBeNull();
    expect((await jack.as.file.list({ projectId: project.id, source: 'USER_UPLOAD' })).items).toHaveLength(5);
    expect((await jack.as.file.list({ projectId: project.id, source: 'APP_GENERATED' })).items).toEqual([]);
    // A cursor from one listing is refused by another.
    await expectTrpcError(
      jack.as.file.list({ projectId: project.id, source: 'USER_UPLOAD', cursor: first.nextCursor ?? '' }),
      'BAD_REQUEST',
    );
  });
});

describe('cleaning up', () => {
  it('sweeps expired unconfirmed uploads and leaves confirmed files alone', async () => {
    const kim = await signUp(api);
    const project = await kim.as.project.create({ name: 'Sweep' });
    const kept = await uploadAndConfirm(kim, project.id, 'a\n1\n');
    const abandoned = await uploadFile(kim, project.id, 'a\n2\n');
    const neverSent = await kim.as.file.createUpload({
      projectId: project.id,
      filename: 'n.csv',
      size: 4,
      contentType: 'text/csv',
    });

    expect(await sweepExpiredUploads(api.deps)).toBe(0);
    api.clock.advance(15 * 60_000 + 1000);
    expect(await sweepExpiredUploads(api.deps)).toBeGreaterThanOrEqual(2);
    // The access token expired with the upload URLs: sign in again.
    const { accessToken } = await api.caller().auth.login({ email: kim.email, password: kim.password });
    kim.as = api.caller(accessToken);

    await expectTrpcError(kim.as.file.byId({ fileId: abandoned.file.id }), 'NOT_FOUND');
    await expectTrpcError(kim.as.file.byId({ fileId: neverSent.file.id }), 'NOT_FOUND');
    expect(await api.deps.storage.size(`projects/${project.id}/files/${abandoned.file.id}`)).toBeNull();
    expect(await kim.as.file.byId({ fileId: kept.id })).toEqual(kept);
    expect(await kim.as.file.preview({ fileId: kept.id })).toEqual({ columns: ['a'], rows: [[1]] });
  });

  it('ends a sweep whose index still shows an upload that was confirmed meanwhile, instead of reading it forever', async () => {
    const ray = await signUp(api);
    const project = await ray.as.project.create({ name: 'Lagging index' });
    const { file } = await uploadFile(ray, project.id, 'a\n1\n');
    await ray.as.file.confirm({ fileId: file.id });
    // As an eventually consistent index can for a while: the entry of an upload that was confirmed.
    await showAsExpiredUpload(api.deps.db, file.id);
    expect(await sweepExpiredUploads(api.deps)).toBe(0);
    expect(await ray.as.file.byId({ fileId: file.id })).toMatchObject({ status: 'COMPLETED' });
  });

  it('deleting a project leaves no file records and no objects under its prefix', async () => {
    const lee = await signUp(api);
    const project = await lee.as.project.create({ name: 'Doomed' });
    const done = await uploadAndConfirm(lee, project.id, 'a,b\n1,2\n');
    const pending = await uploadFile(lee, project.id, 'a,b\n3,4\n');
    // The confirmed file, its preview and its table; the pending upload.
    expect((await api.deps.storage.listKeys(`projects/${project.id}/`)).length).toBe(4);

    await lee.as.project.delete({ projectId: project.id });
    await expectTrpcError(lee.as.file.byId({ fileId: done.id }), 'NOT_FOUND');
    // The rest is deleted in the background.
    await api.deps.background.drain(30_000);
    expect(await api.deps.storage.listKeys(`projects/${project.id}/`)).toEqual([]);
    expect(await getFile(api.deps.db, done.id)).toBeNull();
    expect(await getFile(api.deps.db, pending.file.id)).toBeNull();
    await expectTrpcError(lee.as.file.list({ projectId: project.id }), 'NOT_FOUND');
  });
});
