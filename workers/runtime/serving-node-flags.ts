/**
 * The flags every serving process (gateway, worker, tuner) is started with: `npm start`,
 * `npm run worker`, `npm run tune`, the images' CMD and the chart's commands carry them, and a test
 * keeps them in step.
 *
 * V8 counts the external memory allocated since the last full collection (request bodies, the
 * tensors instance threads hand back) against the old generation's headroom. A gateway's heap
 * holds about 35 MB live, so its headroom is about 24 MB, less the young generation: every 8 MB or
 * so of tensor traffic started a full mark-compact of the whole heap (5 a second, 45 ms each, at 45
 * recognizer answers of 1 MB a second). A floor of 256 MB under the old generation's limit lets that
 * traffic be collected by scavenges and a full collection every few seconds. It is a floor, not a
 * reservation: the heap only grows that far if garbage survives to the old generation.
 */
export const SERVING_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=256'];
