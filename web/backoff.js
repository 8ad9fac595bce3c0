// backoff.js -- reconnect delays for both live paths.
//
// Full jitter (the AWS architecture blog's "Exponential Backoff And Jitter"): the ceiling
// doubles from baseMs up to capMs and the delay is drawn uniformly below it, so clients
// dropped together by a restart spread out over the whole window instead of returning in
// waves. `attempt` is 0-based; `rnd` is a number in [0, 1).
export function fullJitterDelay(attempt, baseMs, capMs, rnd) {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(rnd * ceiling);
}
