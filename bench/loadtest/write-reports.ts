import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FigureChange } from './compare.js';
import { htmlReport } from './html-report.js';
import { markdownReport } from './markdown-report.js';
import type { LoadTestReport } from './report.js';

export interface ReportFiles {
  readonly json: string;
  readonly markdown: string;
  readonly html: string;
}

/** report.json (for machines and --compare), report.md (for a PR comment), report.html (for people). */
export async function writeReports(
  dir: string,
  report: LoadTestReport,
  comparison: readonly FigureChange[] | undefined,
): Promise<ReportFiles> {
  await mkdir(dir, { recursive: true });
  const files = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), html: join(dir, 'report.html') };
  await Promise.all([
    writeFile(files.json, `${JSON.stringify(comparison ? { ...report, comparison } : report, null, 2)}\n`),
    writeFile(files.markdown, markdownReport(report, comparison)),
    writeFile(files.html, htmlReport(report, comparison)),
  ]);
  return files;
}
