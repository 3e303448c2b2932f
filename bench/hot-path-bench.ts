/**
 * `npm run bench:hot-path`: the per-request cost of the embedded gateway against the bare
 * fastify ceiling and one raw inference (see hot-path.ts). Writes bench/results/hot-path.{json,md}.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOT_PATH_TARGETS, measureHotPath, type HotPath } from './hot-path.js';
import { currentLoadAverage, machineInfo } from './machine-info.js';
import { RESULTS_DIR } from './settings.js';

export async function writeHotPathReport(result: HotPath, machine: object): Promise<{ json: string; markdown: string }> {
  const json = join(RESULTS_DIR, 'hot-path.json');
  const markdown = join(RESULTS_DIR, 'hot-path.md');
  await writeFile(json, `${JSON.stringify({ machine, ...result, targets: HOT_PATH_TARGETS }, null, 2)}\n`);
  const rows = result.rounds.map(
    (r, index) =>
      `| ${index + 1} | ${r.gateway.requestsPerSecond} | ${r.ceiling.requestsPerSecond} | **${r.ratio}** | ${r.gateway.latencyMs.p50} / ${r.gateway.latencyMs.p99} | ` +
      `${r.ceiling.latencyMs.p50} / ${r.ceiling.latencyMs.p99} | ${r.gatewayCpuUsPerRequest} | ${r.ceilingCpuUsPerRequest} | ` +
      `${r.gatewaySequential.p50Ms} | ${r.ceilingSequential.p50Ms} | ${r.rawP50Ms} | **${r.overheadMs}** |`,
  );
  const met = (ok: boolean): string => (ok ? 'met' : 'missed');
  await writeFile(
    markdown,
    [
      `# Hot path: embedded gateway (npm start defaults) vs bare fastify and one raw inference`,
      '',
      `${JSON.stringify(machine)}`,
      '',
      `mlp-classifier, JSON bodies (512 FP32), the gateway with switchyard.yaml and info logging (one request line each);`,
      `${result.rounds.length} alternating rounds of ${result.secondsPerRun} s at ${result.connections} connections, then 1 connection`,
      '(sequential keep-alive client) against both servers and raw onnxruntime-node batch-1 runs in the bench process.',
      'CPU us/req: the server process (all threads) over answered requests.',
      '',
      '| round | gateway req/s | ceiling req/s | ratio | gateway p50/p99 ms | ceiling p50/p99 ms | gateway CPU us/req | ceiling CPU us/req | gateway @1 p50 ms | ceiling @1 p50 ms | raw p50 ms | overhead ms |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
      `Median ratio **${result.medianRatio}** (target >= ${HOT_PATH_TARGETS.ceilingRatio}: ${met(result.medianRatio >= HOT_PATH_TARGETS.ceilingRatio)}); ` +
        `median overhead over one raw inference **${result.medianOverheadMs} ms** (target <= ${HOT_PATH_TARGETS.overheadMs} ms: ${met(result.medianOverheadMs <= HOT_PATH_TARGETS.overheadMs)}), ` +
        `of which ${result.medianOwnShareMs} ms is the gateway's own beyond the ceiling's HTTP round trip.`,
      '',
    ].join('\n'),
  );
  return { json, markdown };
}

async function main(): Promise<void> {
  const log = (line: string): void => console.log(`[bench:hot-path ${new Date().toISOString().slice(11, 19)}] ${line}`);
  const machine = machineInfo();
  log(`${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverageAtStart}`);
  const result = await measureHotPath(log);
  const files = await writeHotPathReport(result, { ...machine, loadAverageAtEnd: currentLoadAverage() });
  log(`median ratio ${result.medianRatio}, median overhead ${result.medianOverheadMs} ms; wrote ${files.json}, ${files.markdown}`);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await main();
