import { expect, it } from 'vitest';
import { bestMedianReadyMs } from '../load/floor.js';

it('takes files one after another on every core: a burst waits its turn, spread files do not wait', () => {
  // 100 files confirmed at once, 200 ms of CPU each on 2 cores: done every 100 ms, the 50th after 5 s.
  expect(bestMedianReadyMs(Array(100).fill(0), 200, 2)).toBe(5000);
  // One a second: each is done 100 ms after its confirm, whatever came before.
  expect(bestMedianReadyMs([0, 1000, 2000, 3000, 4000], 200, 2)).toBe(100);
  // A burst of 3 at 0 and 2 later ones: waits 100, 200, 300 (the burst), then 100 and 100.
  expect(bestMedianReadyMs([0, 0, 0, 5000, 9000], 200, 2)).toBe(100);
  // The fourth comes while the burst still runs: it waits 150, the middle of 100, 100, 150, 200, 300.
  expect(bestMedianReadyMs([0, 0, 0, 250, 9000], 200, 2)).toBe(150);
  expect(bestMedianReadyMs([], 200, 2)).toBeNaN();
});
