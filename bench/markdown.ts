/** Small helpers for the Markdown reports. */
export const row = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`;

/** Bytes as MB (2^20) with two decimals; deltas keep their sign. */
export const mb = (bytes: number): number => Math.round((bytes / 2 ** 20) * 100) / 100;

/** A process log as a fenced block, or a line saying it was empty. */
export function logBlock(name: string, log: string): string {
  return log.trim() === ''
    ? `The ${name} logged nothing at LOG_LEVEL=warn.`
    : `${name} log at LOG_LEVEL=warn:\n\n\`\`\`\n${log.trim()}\n\`\`\``;
}
