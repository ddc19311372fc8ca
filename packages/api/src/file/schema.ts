import { csvMetadata, FILE_SOURCES, FILE_STATUSES, provenance } from '@leonidas/db';
import { z } from 'zod';
import { pageInput, pageOf } from '../pagination.js';

export const FileStatus = z.enum(FILE_STATUSES);
export type FileStatus = z.infer<typeof FileStatus>;
export const FileSource = z.enum(FILE_SOURCES);
export type FileSource = z.infer<typeof FileSource>;

/** Browsers label CSV files inconsistently (Excel on Windows says vnd.ms-excel; some send nothing). */
export const ACCEPTED_CONTENT_TYPES = [
  'text/csv',
  'application/csv',
  'text/x-csv',
  'application/vnd.ms-excel',
  'text/plain',
  'text/tab-separated-values',
] as const;

/** S3's limit for a single POST upload: the most MAX_UPLOAD_BYTES may allow. */
export const MAX_POST_BYTES = 5 * 1024 ** 3;

const projectId = z.string().min(1).max(64);
const fileId = z.string().min(1).max(64);

export const filenameInput = z
  .string()
  .trim()
  .min(1, 'File name cannot be empty')
  .max(255, 'File name must be at most 255 characters')
  .refine((name) => !/[/\\]/.test(name), 'File name cannot contain / or \\')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), 'File name cannot contain control characters')
  .refine((name) => /\.(csv|tsv)$/i.test(name), 'Only .csv and .tsv files can be uploaded');

export const createUploadInput = z.strictObject({
  projectId,
  filename: filenameInput,
  size: z
    .number()
    .int('Size must be a whole number of bytes')
    .min(1, 'The file is empty')
    .max(MAX_POST_BYTES, 'The file is too large'),
  contentType: z
    .string()
    .trim()
    .toLowerCase()
    .refine(
      (type) => type === '' || (ACCEPTED_CONTENT_TYPES as readonly string[]).includes(type),
      'Content type must be a CSV or TSV type, e.g. text/csv',
    ),
});

export const fileIdInput = z.strictObject({ fileId });
export const listFilesInput = z.strictObject({ projectId, source: FileSource.optional(), ...pageInput });
/** How many first rows a file's preview keeps (written when it is processed): the most `file.preview` gives. */
export const PREVIEW_ROWS = 200;
export const previewInput = z.strictObject({
  fileId,
  limit: z.number().int().min(1).max(PREVIEW_ROWS).default(50),
});
export const renameFileInput = z.strictObject({ fileId, filename: filenameInput });

/** The profile and provenance are stored as they are sent: their shapes are the stored ones (`@leonidas/db`). */
export const csvMetadataOutput = csvMetadata;
export const provenanceOutput = provenance;
export type CsvMetadata = z.infer<typeof csvMetadataOutput>;
export type Provenance = z.infer<typeof provenanceOutput>;

/** The content type of a chart DS Bro made: a Vega-Lite v5 specification with its data inline. */
export const VEGA_LITE_CONTENT_TYPE = 'application/vnd.vegalite.v5+json';

export const fileOutput = z.object({
  id: z.string(),
  projectId: z.string(),
  filename: z.string(),
  contentType: z.string(),
  size: z.number(),
  status: FileStatus,
  source: FileSource,
  failureReason: z.string().optional(),
  metadata: csvMetadataOutput.optional(),
  provenance: provenanceOutput.optional(),
  createdAt: z.date(),
  updatedAt: z.date(),
});
export type File = z.infer<typeof fileOutput>;

export const filePageOutput = pageOf(fileOutput);

export const createUploadOutput = z.object({
  file: fileOutput,
  upload: z.object({ url: z.string(), fields: z.record(z.string(), z.string()), expiresAt: z.date() }),
});

const cellValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export const previewOutput = z.object({ columns: z.array(z.string()), rows: z.array(z.array(cellValue)) });
export type FilePreview = z.infer<typeof previewOutput>;

export const downloadUrlOutput = z.object({ url: z.string(), expiresAt: z.date() });
