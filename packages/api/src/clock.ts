/** Time as the API sees it; tests pass their own to move past lockouts and expiries without waiting. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
