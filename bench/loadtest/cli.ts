/**
 * `npm run loadtest -- --target URL --scenario NAME ...`: runs a scenario, writes its reports,
 * prints the verdict, and exits non-zero when an SLO is violated, so it can gate a rollout.
 */
import { parseCliArgs, USAGE } from './cli-args.js';
import { formatChange } from './compare.js';
import { runLoadTest } from './run-load-test.js';

const EXIT_SLO_VIOLATED = 1;
const EXIT_BAD_INPUT = 2;

async function main(): Promise<number> {
  let options: ReturnType<typeof parseCliArgs>;
  try {
    options = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`loadtest: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_BAD_INPUT;
  }
  let result: Awaited<ReturnType<typeof runLoadTest>>;
  try {
    result = await runLoadTest({ ...options, log: (line) => console.log(line) });
  } catch (error) {
    // Bad scenarios, unreachable targets, unknown models: say what, not a stack.
    console.error(`loadtest: ${(error as Error).message}`);
    return EXIT_BAD_INPUT;
  }
  const { report, files, comparison } = result;
  const { latency } = report.totals;
  console.log(
    `${report.scenario.name}: ${report.throughputRps} req/s, p50 ${latency.p50Ms} ms, p95 ${latency.p95Ms} ms, p99 ${latency.p99Ms} ms, error rate ${(report.totals.errorRate * 100).toFixed(2)} % (${report.totals.sent} sent)`,
  );
  if (report.knee)
    console.log(`knee: ${report.knee.throughputRps} req/s at ${report.knee.connections} connections (p95 ${report.knee.p95Ms} ms)`);
  for (const check of report.slo.checks)
    console.log(
      `SLO ${check.name}: limit ${check.limit}, measured ${Math.round(check.actual * 1000) / 1000}: ${check.pass ? 'pass' : 'FAIL'}`,
    );
  if (comparison) for (const change of comparison) console.log(`compare ${formatChange(change)}`);
  if (files) console.log(`reports: ${files.json}, ${files.markdown}, ${files.html}`);
  console.log(report.slo.pass ? 'PASS' : 'FAIL: SLO violated');
  return report.slo.pass ? 0 : EXIT_SLO_VIOLATED;
}

process.exitCode = await main();
