/** Where one model version is in its life. Only READY versions take requests. */
export enum ModelState {
  /** Instances are starting and warming up. */
  LOADING = 'LOADING',
  /** Every instance is warm; requests are served. */
  READY = 'READY',
  /** Draining queued requests before the instances close. */
  UNLOADING = 'UNLOADING',
  /** Not loaded (never, or unloaded). */
  UNAVAILABLE = 'UNAVAILABLE',
  /** Loading or warm-up failed; `reason` says why. */
  FAILED = 'FAILED',
}
