/** What a quantizer did to each candidate node, for the report and the refusal messages. */
export interface QuantizeOutcome {
  /** Nodes rewritten to int8, by op type. */
  readonly quantized: Record<string, number>;
  /** Nodes of quantizable op types left in fp32, each with the reason. */
  readonly leftInFp32: { readonly node: string; readonly op: string; readonly reason: string }[];
  /** Nodes whose weights were rounded with error feedback (calibrated) rather than to nearest. */
  readonly errorFeedback?: string[];
}

export class QuantizeError extends Error {
  override name = 'QuantizeError';
}

/** Names nobody in the graph uses yet, derived from a base name. */
export class FreshNames {
  readonly #used: Set<string>;

  constructor(existing: Iterable<string>) {
    this.#used = new Set(existing);
  }

  take(base: string): string {
    let name = base;
    for (let n = 1; this.#used.has(name); n += 1) name = `${base}_${n}`;
    this.#used.add(name);
    return name;
  }
}

export const MS_DOMAIN = 'com.microsoft';

export function attributeInt(node: { attribute: { name?: string; i?: unknown }[] }, name: string, fallback: number): number {
  const attribute = node.attribute.find((candidate) => candidate.name === name);
  if (!attribute || attribute.i === undefined) return fallback;
  const value = attribute.i as number | { toNumber(): number };
  return typeof value === 'number' ? value : value.toNumber();
}

export function attributeFloat(node: { attribute: { name?: string; f?: number }[] }, name: string, fallback: number): number {
  return node.attribute.find((candidate) => candidate.name === name)?.f ?? fallback;
}
