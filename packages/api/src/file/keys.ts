/** Object keys are made by the server, never by clients: everything of a project lives under its prefix. */
export const projectPrefix = (projectId: string) => `projects/${projectId}/`;
export const fileObjectKey = (projectId: string, fileId: string) => `projects/${projectId}/files/${fileId}`;
export const previewObjectKey = (projectId: string, fileId: string) =>
  `projects/${projectId}/previews/${fileId}.json`;
export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';
/** The file's rows as Parquet, written when it is processed: what queries read, never the CSV again. */
export const tableObjectKey = (projectId: string, fileId: string) =>
  `projects/${projectId}/tables/${fileId}.parquet`;
/** A chat's kept query results (`q1`, `q2`, ...), for charts and saved tables made from them later. */
export const sessionPrefix = (projectId: string, sessionId: string) =>
  `projects/${projectId}/sessions/${sessionId}/`;
export const queryResultKey = (projectId: string, sessionId: string, queryId: string) =>
  `${sessionPrefix(projectId, sessionId)}queries/${queryId}.json`;
