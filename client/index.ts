/** switchyard/client: a Node client for a Switchyard gateway, with no server dependencies. */
export { SwitchyardClient, type InferOptions, type Inputs } from './switchyard-client.js';
export { SwitchyardError, type SwitchyardErrorDetails } from './errors.js';
export type { CallOptions, ConnectionOptions } from './http-call.js';
export type { RetryOptions } from './retry-policy.js';
export type { InputTensor, OutputTensor } from './infer-codec.js';
export type { InferResult } from './infer-result.js';
export type { Datatype, NumericArray, TensorData, BytesElements } from './datatypes.js';
export { TasksApi, type SubmitOptions, type EventsOptions } from './tasks-api.js';
export type { Task, TaskEvent, Submitted } from './task-types.js';
export { verifyCallbackSignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, type VerifyOptions } from './callback-signature.js';
