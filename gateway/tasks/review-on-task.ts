import { randomUUID } from 'node:crypto';
import type { Policy } from '../policy/policy-config.js';
import type { TaskRecord } from './task-record.js';
import { inputRef, type ReviewItem } from '../review/review-item.js';
import type { ReviewStore } from '../review/review-store.js';

/**
 * Files a task's result for review. A task has no one confidence (pipelines mix models
 * and transforms), so only a request's `"review": true` sends one; the item's route and
 * model are the pipeline's name, its input is the pipeline's decoded inputs as JSON.
 */
export async function fileTaskForReview(record: TaskRecord, inputs: unknown, store: ReviewStore, policy: Policy): Promise<string> {
  const id = randomUUID();
  const item: ReviewItem = {
    id,
    route: record.pipeline,
    tenant: record.tenant,
    request_id: record.id,
    task_id: record.id,
    created_at: new Date().toISOString(),
    state: 'pending',
    reason: 'requested',
    model: record.pipeline,
    version: '',
    input_ref: inputRef(Buffer.from(JSON.stringify(inputs)), 'application/json', policy.reviews.max_input_bytes),
    model_output: record.result?.outputs ?? {},
  };
  await store.create(item);
  return id;
}
