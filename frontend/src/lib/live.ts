/** How often pages poll while something they show is still in flight. */
export const LIVE_REFRESH_MS = 2000;
/** Slower poll when everything shown is finished, so things created elsewhere still appear. */
export const IDLE_REFRESH_MS = 10000;
