import S3rver from 's3rver';

/** s3rver only accepts this key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalS3 {
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * s3rver as the embedded object store, with files under `directory` and a CORS rule for the web origins so
 * browsers can upload to it directly. Note: it checks neither signatures nor POST policy conditions, which
 * is why the server verifies size and content itself at confirm.
 */
export async function startLocalS3(input: {
  directory: string;
  bucket: string;
  corsOrigins: string[];
  port?: number;
}): Promise<LocalS3> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: input.port ?? 0,
    directory: input.directory,
    silent: true,
    configureBuckets: [
      {
        name: input.bucket,
        configs: input.corsOrigins.length > 0 ? [corsConfiguration(input.corsOrigins)] : [],
      },
    ],
  });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      await server.close();
    },
  };
}

function corsConfiguration(origins: string[]): string {
  const allowed = origins.map((origin) => `<AllowedOrigin>${origin}</AllowedOrigin>`).join('');
  return `<CORSConfiguration><CORSRule>${allowed}<AllowedMethod>GET</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>HEAD</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>`;
}
