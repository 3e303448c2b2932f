// @fastify/rate-limit ships its counters without types; these are the parts used here.
declare module '@fastify/rate-limit/store/LocalStore.js' {
  type Done = (error: Error | null, result: { current: number; ttl: number } | null) => void;
  export default class LocalStore {
    constructor(continueExceeding: boolean, exponentialBackoff: boolean, cache?: number);
    incr(key: string, done: Done, timeWindow: number, max: number): void;
  }
}
declare module '@fastify/rate-limit/store/RedisStore.js' {
  import type { Redis } from 'ioredis';
  type Done = (error: Error | null, result: { current: number; ttl: number } | null) => void;
  export default class RedisStore {
    constructor(continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key?: string);
    incr(key: string, done: Done, timeWindow: number, max: number): void;
  }
}
