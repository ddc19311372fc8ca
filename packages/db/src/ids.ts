import { monotonicFactory } from 'ulid';

/**
 * ULIDs sort by creation time, so items keyed by them list newest-first without an extra index.
 * The monotonic factory keeps that order for ids made in the same millisecond.
 */
export const newId: () => string = monotonicFactory();
