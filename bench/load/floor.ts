import { availableParallelism } from 'node:os';
import { createLeonidasClient, uploadForm } from '@leonidas/client';
import { cpuMs, descendants } from './process-stats.js';
import { salesCsv } from './user.js';

/**
 * What one small file costs the machine: the CPU time of the server and of everything it started (DynamoDB
 * Local's JVM) for its whole way in (`file.createUpload`, the POST to the store, `file.confirm` to COMPLETED),
 * files of the run's mix sent one at a time on the otherwise idle stack, after a few to warm it up.
 */
export async function fileCpuMs(url: string, serverPid: number, files = 20, warmUp = 5): Promise<number> {
  const anonymous = createLeonidasClient({ url });
  const email = `floor-${Date.now()}@example.com`;
  const { accessToken } = await anonymous.auth.register.mutate({
    email,
    password: 'floor-measure-password',
    name: 'Floor',
  });
  const api = createLeonidasClient({ url, getToken: () => accessToken });
  const project = await api.project.create.mutate({ name: 'floor' });
  const machineCpu = () => [serverPid, ...descendants(serverPid)].reduce((sum, pid) => sum + cpuMs(pid), 0);
  let before = 0;
  for (let i = 0; i < warmUp + files; i++) {
    if (i === warmUp) before = machineCpu();
    const filename = `floor_${i}.csv`;
    const blob = new Blob([salesCsv(1_000 + i, i)], { type: 'text/csv' });
    const { file, upload } = await api.file.createUpload.mutate({
      projectId: project.id,
      filename,
      size: blob.size,
      contentType: 'text/csv',
    });
    const posted = await fetch(upload.url, {
      method: 'POST',
      body: uploadForm(upload.fields, blob, filename),
    });
    if (!posted.ok) throw new Error(`the store refused the upload: HTTP ${posted.status}`);
    const confirmed = await api.file.confirm.mutate({ fileId: file.id });
    if (confirmed.status !== 'COMPLETED') throw new Error(`a file ended ${confirmed.status}, not COMPLETED`);
  }
  return (machineCpu() - before) / files;
}

/**
 * The median wait (confirm to COMPLETED) the run's files would have had on this machine at best: each costs
 * `fileCpuMs`, every core works on files and on nothing else (the rest of the load is left out, so the bound is
 * generous), and they are taken in the order they were confirmed, at the times they were (`confirmsMs`,
 * ascending): file k is done once the machine has had the CPU for it and for every file before it.
 */
export function bestMedianReadyMs(
  confirmsMs: readonly number[],
  fileCpuMs: number,
  cores = availableParallelism(),
): number {
  const perFile = fileCpuMs / cores;
  let free = Number.NEGATIVE_INFINITY;
  const waits = confirmsMs.map((at) => {
    free = Math.max(free, at) + perFile;
    return free - at;
  });
  waits.sort((a, b) => a - b);
  return waits[Math.floor((waits.length - 1) / 2)] ?? Number.NaN;
}
