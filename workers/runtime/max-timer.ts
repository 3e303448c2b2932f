/** The longest timer Node keeps: setTimeout and setInterval fire after 1 ms beyond 2^31 - 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
