import type { Resolution, ReviewItem, ReviewOutcome, ReviewState } from './review-item.js';

export interface ReviewFilter {
  readonly route?: string;
  readonly state?: ReviewState;
  /** Created before this time (ms since the epoch). */
  readonly createdBefore?: number;
  /** Created after this time (ms since the epoch). */
  readonly createdAfter?: number;
  readonly limit: number;
}

/** Per route: requests answered on a route that has review, and review items created. */
export interface RouteCounts {
  readonly routed: number;
  readonly created: number;
}

/**
 * Review items: memory in embedded mode, Redis in distributed mode (any gateway can
 * list, claim and resolve any item). Items expire after the retention period. Claim and
 * resolve are atomic: of two reviewers claiming one item, exactly one gets it.
 */
export interface ReviewStore {
  create(item: ReviewItem): Promise<void>;
  get(id: string): Promise<ReviewItem | undefined>;
  /** Oldest first. */
  list(filter: ReviewFilter): Promise<ReviewItem[]>;
  /** pending → claimed by `reviewer`; claiming one's own claim again is ok. */
  claim(id: string, reviewer: string, at: string): Promise<ReviewOutcome>;
  /** claimed by `reviewer` → resolved; anything else is a conflict. */
  resolve(id: string, reviewer: string, resolution: Resolution): Promise<ReviewOutcome>;
  /**
   * Adds an explanation made after the item was filed (a plain inference on a route whose
   * review keeps explanations); false when the item is gone.
   */
  attachExplanation(id: string, explanation: unknown): Promise<boolean>;
  /** Counts one answered request on a route that has review (the rate's denominator). */
  countRouted(route: string): Promise<void>;
  counts(): Promise<Record<string, RouteCounts>>;
}

export function matches(item: ReviewItem, filter: ReviewFilter): boolean {
  const created = Date.parse(item.created_at);
  return (
    (filter.route === undefined || item.route === filter.route) &&
    (filter.state === undefined || item.state === filter.state) &&
    (filter.createdBefore === undefined || created < filter.createdBefore) &&
    (filter.createdAfter === undefined || created > filter.createdAfter)
  );
}
