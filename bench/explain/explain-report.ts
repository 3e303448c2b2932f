import { row } from '../markdown.js';
import type { ExplainBenchResults } from './explain-bench.js';

/** bench/results/explain.md: what the JSON holds, as tables. */
export function explainReport(results: ExplainBenchResults): string {
  const { machine } = results;
  const lines = [
    `# Explanations bench (\`npm run bench:explain\`${results.mode === 'distributed' ? ', EXPLAIN_BENCH_MODE=distributed' : ''})`,
    '',
    `${results.mode === 'distributed' ? 'Distributed mode: one gateway and one worker sharing Redis. ' : ''}${machine.date}, ${machine.cpuModel} (${machine.cores} cores), Node ${machine.nodeVersion}, commit ${machine.gitCommit}; load average ${machine.loadAverageAtStart} at start, ${results.loadAverageAtEnd} at end (the machine is shared).`,
    '',
    '## Explanations beside live traffic',
    '',
    'Live requests at a steady rate, alone and then with one client explaining back to back, alternating; medians of the rounds, and the median of the per-round beside / alone ratios (each pair seconds apart). Target: live p95 beside explanations at most 1.2 × alone. The gateway reports for the live requests (X-Queue-Ms p95, and the share that ran in a batch with other rows) show whether they waited for explanation rows.',
    '',
    row([
      'model',
      'live req/s',
      'live p95 alone (ms)',
      'live p95 beside (ms)',
      'ratio',
      'explanations/s',
      'rows per explanation',
      'live queue p95 alone / beside (ms)',
      'live in shared batches',
    ]),
    row(['---', '---', '---', '---', '---', '---', '---', '---', '---']),
    ...results.sideBySide.map((s) =>
      row([
        s.model,
        s.livePerSecond,
        s.medianAloneP95Ms,
        s.medianBesideP95Ms,
        s.p95Ratio,
        s.explanationsPerSecond,
        s.rowsPerExplanation,
        `${s.medianAloneQueueP95Ms} / ${s.medianBesideQueueP95Ms}`,
        `${Math.round(s.besideSharedBatchShare * 1000) / 10} %`,
      ]),
    ),
    '',
    ...(Object.keys(results.faithfulness).length === 0 ? [] : faithfulness(results)),
  ];
  return lines.join('\n');
}

function faithfulness(results: ExplainBenchResults): string[] {
  return [
    '## Faithfulness',
    '',
    'Each input explained, then scored with its k most attributed features (MLP: ablation, zero baseline) or 8×8 patches (text-direction: occlusion, mean baseline) set to the baseline, and with k random ones.',
    '',
    row(['model', 'inputs', 'k', 'mean abs Δscore, top k', 'mean abs Δscore, random k', 'inputs where top-k wins']),
    row(['---', '---', '---', '---', '---', '---']),
    ...Object.entries(results.faithfulness).map(([model, f]) =>
      row([model, f.inputs, f.k, f.topKChange.toFixed(4), f.randomKChange.toFixed(4), `${f.topWins}/${f.inputs}`]),
    ),
    '',
  ];
}
