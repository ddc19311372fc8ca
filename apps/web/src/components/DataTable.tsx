import type { CellValue } from '@leonidas/api';
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from '@tanstack/react-table';
import { useMemo } from 'react';

const helper = createColumnHelper<CellValue[]>();

/** Rows of a file or a query result, in a box that scrolls (and can be scrolled from the keyboard). */
export function DataTable({
  label,
  columns,
  rows,
  numericColumns = [],
}: {
  label: string;
  columns: string[];
  rows: CellValue[][];
  /** Columns whose values are numbers, aligned right so that digits line up. */
  numericColumns?: boolean[];
}) {
  const columnDefs = useMemo(
    () =>
      columns.map((name, index) =>
        helper.accessor((row) => row[index], {
          id: `${index}`,
          header: name,
          cell: (info) => formatCell(info.getValue()),
        }),
      ),
    [columns],
  );
  const table = useReactTable({ data: rows, columns: columnDefs, getCoreRowModel: getCoreRowModel() });
  const alignOf = (columnId: string) => (numericColumns[Number(columnId)] ? 'text-right' : 'text-left');
  return (
    <section
      // biome-ignore lint/a11y/noNoninteractiveTabindex: keyboard users must be able to scroll a wide or long table (WCAG 2.1.1, axe's scrollable-region-focusable).
      tabIndex={0}
      aria-label={label}
      className="mt-2 max-h-[28rem] overflow-auto rounded border border-slate-200 bg-white focus-visible:outline-2 focus-visible:outline-indigo-500"
    >
      <table aria-label={label} className="min-w-full text-sm">
        <thead className="sticky top-0 bg-slate-100">
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th
                  key={header.id}
                  scope="col"
                  className={`px-2 py-1 whitespace-nowrap ${alignOf(header.column.id)}`}
                >
                  {flexRender(header.column.columnDef.header, header.getContext())}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id} className="border-b border-slate-100">
              {row.getVisibleCells().map((cell) => (
                <td key={cell.id} className={`px-2 py-1 whitespace-nowrap ${alignOf(cell.column.id)}`}>
                  {flexRender(cell.column.columnDef.cell, cell.getContext())}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function formatCell(value: CellValue | undefined): string {
  if (value === null || value === undefined) return '–';
  return String(value);
}
