import { describe, expect, it } from 'vitest';
import { baseTableName, tableNames } from './table-names.js';

describe('table names', () => {
  it.each([
    ['Sales 2025.csv', 'sales_2025'],
    ['2024 Régions.csv', 't_2024_r_gions'],
    ['orders.tsv', 'orders'],
    ['Q1-final (v2).csv', 'q1_final__v2_'],
    ['données😀.csv', 'donn_es_'],
    ['archive.tar.csv', 'archive_tar'],
    ['.csv', 't_'],
  ])('%s is %s', (filename, name) => {
    expect(baseTableName(filename)).toBe(name);
  });

  it('numbers clashes in the order the files were created', () => {
    const names = tableNames([
      { fileId: 'c', filename: 'Sales.csv', createdAt: '2026-01-03T00:00:00.000Z' },
      { fileId: 'a', filename: 'sales.csv', createdAt: '2026-01-01T00:00:00.000Z' },
      { fileId: 'b', filename: 'SALES.tsv', createdAt: '2026-01-02T00:00:00.000Z' },
      { fileId: 'd', filename: 'sales_2.csv', createdAt: '2026-01-04T00:00:00.000Z' },
    ]);
    expect(Object.fromEntries(names)).toEqual({ a: 'sales', b: 'sales_2', c: 'sales_3', d: 'sales_2_2' });
  });
});
