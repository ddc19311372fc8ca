/** Object keys are made by the server, never by clients: everything of a project lives under its prefix. */
export const projectPrefix = (projectId: string) => `projects/${projectId}/`;
export const fileObjectKey = (projectId: string, fileId: string) => `projects/${projectId}/files/${fileId}`;
export const previewObjectKey = (projectId: string, fileId: string) =>
  `projects/${projectId}/previews/${fileId}.json`;
