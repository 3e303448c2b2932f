import { SwitchyardError } from './errors.js';
import { send, type CallOptions, type ConnectionOptions } from './http-call.js';
import { decodeInferResponse, encodeInferRequest, type EncodeOptions, type InputTensor } from './infer-codec.js';
import { inferResult, type InferResult } from './infer-result.js';
import { TasksApi } from './tasks-api.js';

export interface InferOptions extends CallOptions, EncodeOptions {
  /** A model version (default: the model's default); not for routes. */
  readonly version?: string;
  /** X-Tier: ask a route for one of its tiers (when the route allows it). */
  readonly tier?: string;
  readonly priority?: number;
  /** The server's own deadline for the request (timeout_ms parameter). */
  readonly serverTimeoutMs?: number;
  /** X-Review: file the answer for human review (routes with review enabled). */
  readonly review?: boolean;
}

/** Inputs as a list, or as a record from input name to tensor. */
export type Inputs = readonly InputTensor[] | Readonly<Record<string, Omit<InputTensor, 'name'>>>;

/**
 * A client for a Switchyard gateway, for Node services: typed tensors in and out over the
 * binary extension, retries that never run a call twice, and the Task API.
 */
export class SwitchyardClient {
  readonly #connection: ConnectionOptions;
  readonly tasks: TasksApi;

  constructor(connection: ConnectionOptions) {
    if (!/^https?:\/\//.test(connection.baseUrl)) throw new TypeError('baseUrl must be an http:// or https:// URL');
    this.#connection = connection;
    this.tasks = new TasksApi(connection);
  }

  /** POST /v2/models/{model}[/versions/{version}]/infer; `model` may be a route. */
  async infer(model: string, inputs: Inputs, options: InferOptions = {}): Promise<InferResult> {
    const list = Array.isArray(inputs)
      ? (inputs as readonly InputTensor[])
      : Object.entries(inputs).map(([name, tensor]) => ({ name, ...tensor }));
    const parameters = {
      ...options.parameters,
      ...(options.priority !== undefined ? { priority: options.priority } : {}),
      ...(options.serverTimeoutMs !== undefined ? { timeout_ms: options.serverTimeoutMs } : {}),
    };
    const encoded = encodeInferRequest(list, { ...options, parameters });
    const path = `v2/models/${encodeURIComponent(model)}${options.version !== undefined ? `/versions/${encodeURIComponent(options.version)}` : ''}/infer`;
    const { response, attempts, idempotencyKey } = await send(this.#connection, {
      ...options,
      method: 'POST',
      path,
      body: encoded.body,
      keyed: true,
      headers: {
        ...encoded.headers,
        ...(options.tier !== undefined ? { 'x-tier': options.tier } : {}),
        ...(options.review !== undefined ? { 'x-review': String(options.review) } : {}),
        ...options.headers,
      },
    });
    const body = new Uint8Array(await response.arrayBuffer());
    try {
      return inferResult(
        decodeInferResponse(body, response.headers.get('inference-header-content-length')),
        response.headers,
        attempts,
        idempotencyKey,
      );
    } catch (error) {
      const details = { status: response.status, code: 'invalid_response', attempts };
      throw new SwitchyardError(`cannot read the inference response: ${(error as Error).message}`, details, { cause: error });
    }
  }
}
