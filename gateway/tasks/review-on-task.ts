import { randomUUID } from 'node:crypto';
import type { Policy } from '../policy/policy-config.js';
import type { TaskRecord } from './task-record.js';
import { inputRef, type ReviewItem, type ReviewReason } from '../review/review-item.js';
import type { ReviewStore } from '../review/review-store.js';

/** The type of an image by its first bytes, so a reviewer's tool can show it. */
function mediaType(bytes: Uint8Array): string {
  if (bytes[0] === 0x89 && bytes[1] === 0x50) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP') return 'image/webp';
  return 'application/octet-stream';
}

/**
 * Files a task's result for review. A task has no one confidence (pipelines mix models
 * and transforms), so a request's `"review": true` sends one, or the pipeline's own
 * `review_when` rule on its result (reason pipeline_decision); the item's route and
 * model are the pipeline's name, its input is the pipeline's one media input as it was
 * sent (an image to look at), or its decoded inputs as JSON.
 */
export async function fileTaskForReview(
  record: TaskRecord,
  inputs: unknown,
  store: ReviewStore,
  policy: Policy,
  reason: ReviewReason = 'requested',
): Promise<string> {
  const id = randomUUID();
  const item: ReviewItem = {
    id,
    route: record.pipeline,
    tenant: record.tenant,
    request_id: record.id,
    task_id: record.id,
    created_at: new Date().toISOString(),
    state: 'pending',
    reason,
    model: record.pipeline,
    version: '',
    input_ref:
      inputs instanceof Uint8Array
        ? inputRef(Buffer.from(inputs), mediaType(inputs), policy.reviews.max_input_bytes)
        : inputRef(Buffer.from(JSON.stringify(inputs)), 'application/json', policy.reviews.max_input_bytes),
    model_output: record.result?.outputs ?? {},
  };
  await store.create(item);
  return id;
}
