/** The few control-plane calls a load test makes to its target before (and after) the load. */
export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly inputs: readonly TensorMetadata[];
}

export interface ModelConfigInputs {
  readonly inputs: readonly { readonly name: string; readonly image?: unknown }[];
}

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

export class TargetClient {
  readonly #base: URL;
  readonly #headers: Record<string, string>;

  constructor(target: string, key: string | undefined) {
    this.#base = new URL(target);
    this.#headers = key === undefined ? {} : { authorization: `Bearer ${key}` };
  }

  /** `/v2/models/{m}[/versions/{v}]`, the prefix every model call shares. */
  modelPath(model: string, version: string | undefined): string {
    return `/v2/models/${encodeURIComponent(model)}${version === undefined ? '' : `/versions/${encodeURIComponent(version)}`}`;
  }

  metadata(model: string, version: string | undefined): Promise<ModelMetadata> {
    return this.#get<ModelMetadata>(this.modelPath(model, version));
  }

  config(model: string, version: string | undefined): Promise<ModelConfigInputs> {
    return this.#get<ModelConfigInputs>(`${this.modelPath(model, version)}/config`);
  }

  async #get<T>(path: string): Promise<T> {
    const url = new URL(path, this.#base);
    let response: Response;
    try {
      response = await fetch(url, { headers: this.#headers, signal: AbortSignal.timeout(10_000) });
    } catch (error) {
      throw new TargetError(
        `cannot reach ${url.origin}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
      );
    }
    const text = await response.text();
    if (response.status !== 200) throw new TargetError(`GET ${url.pathname} answered ${response.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }
}
