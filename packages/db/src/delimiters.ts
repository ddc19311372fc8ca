/**
 * The CSV delimiters a file can have: what the scanner accepts and the profile records. A module of its own, so
 * that the scanner's worker thread (bundled alone) does not load the rest of the package.
 */
export const DELIMITERS = [',', ';', '\t', '|'] as const;
export type Delimiter = (typeof DELIMITERS)[number];
