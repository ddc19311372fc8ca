/**
 * Issue 16's mixed load: 100 users for 45 s on the embedded default (the load run's script: sign up, projects,
 * 50-550-row CSVs uploaded and confirmed, the offline analyst asked, history paged, renames and deletes), with
 * its goal: a small file profiled (confirm to COMPLETED, `file.ready`) in 1.5 s at the median. To see what a
 * procedure waits on, profile the server with BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=<folder>" and read it
 * with `tsx profile-top.ts <folder>`; the report's CPU line says how busy the server, DynamoDB Local and this
 * load generator were. BENCH_USERS and BENCH_SECONDS change the size.
 */
import { bestMedianReadyMs, fileCpuMs } from './load/floor.js';
import { formatReport, runLoad } from './load/run.js';
import { startLoadServer } from './load/server.js';
import { reportGoal } from './support.js';

const USERS = Number(process.env.BENCH_USERS ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 45);

async function main() {
  const server = await startLoadServer();
  try {
    console.log(`\nmixed load: ${USERS} users for ${SECONDS} s on the embedded default`);
    const report = await runLoad({
      url: server.url,
      serverPid: server.pid,
      users: USERS,
      seconds: SECONDS,
      rampSeconds: 5,
    });
    console.log(formatReport(report));
    const ready = report.operations.find((operation) => operation.name === 'file.ready');
    console.log(`operations per second in all: ${(report.totalOps / report.loadSeconds).toFixed(0)}`);
    // What a file costs, measured after the load, on the stack it warmed up (DynamoDB Local's JVM takes a
    // file's calls at about half their cost once it has compiled them): the floor of the goal below.
    const perFileCpuMs = await fileCpuMs(server.url, server.pid);
    const best = bestMedianReadyMs(report.fileConfirmsMs, perFileCpuMs);
    console.log(
      `floor: a small file costs ${perFileCpuMs.toFixed(0)} ms of CPU (server and DynamoDB Local, one at a time on the warm, idle stack); with every core on the ${report.fileConfirmsMs.length} files of this run, confirmed when they were, and on nothing else, the p50 would be ${(best / 1000).toFixed(2)} s at best`,
    );
    // How much of the machine the files had: the rest of the load (chat above all) had the remainder.
    const used = report.cpu.server + report.cpu.children;
    const files = (report.fileConfirmsMs.length * perFileCpuMs) / (report.loadSeconds * 1000);
    console.log(
      `during the run the server and DynamoDB Local used ${used.toFixed(2)} cores; the files about ${files.toFixed(2)} of them`,
    );
    reportGoal(
      `small-file confirm to COMPLETED p50 s at ${USERS} users`,
      (ready?.p50Ms ?? Infinity) / 1000,
      '<=',
      1.5,
    );
    reportGoal('messages and files lost', report.lost, '<=', 0, 0);
    if (report.unexpectedErrors > 0 || report.lost > 0) process.exitCode = 1;
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
