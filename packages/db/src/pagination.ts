import { type Entity, type FormattedItem, type Query, QueryCommand } from 'dynamodb-toolbox';
import type { Db } from './db.js';
import { formatterOf } from './formatting.js';
import { type GlobalIndexName, keyAttributesOf, type LeonidasTable } from './table.js';

export type StartKey = Record<string, unknown>;

export interface KeyPage<ITEM> {
  items: ITEM[];
  /** Where the next page starts; `null` when this page is the last one. */
  nextKey: StartKey | null;
}

/**
 * One page of one entity's items. It reads one item more than asked so that the last page says so
 * (`nextKey: null`) instead of handing out a cursor that leads to an empty page.
 */
export async function queryPage<ENTITY extends Entity>(
  db: Db,
  entity: ENTITY,
  query: Query<LeonidasTable>,
  options: { limit: number; startKey?: StartKey | undefined; newestFirst?: boolean },
): Promise<KeyPage<FormattedItem<ENTITY>>> {
  const { Items = [] } = await db.table
    .build(QueryCommand)
    .query(query)
    .options({
      limit: options.limit + 1,
      reverse: options.newestFirst ?? false,
      consistent: query.index === undefined,
      ...(options.startKey ? { exclusiveStartKey: options.startKey } : {}),
    })
    .send();
  const pageItems = Items.slice(0, options.limit);
  const last = pageItems.at(-1);
  const nextKey =
    Items.length > options.limit && last ? pickKey(last, query.index as GlobalIndexName | undefined) : null;
  return { items: pageItems.map(formatterOf(entity)), nextKey };
}

function pickKey(item: Record<string, unknown>, index: GlobalIndexName | undefined): StartKey {
  return Object.fromEntries(keyAttributesOf(index).map((name) => [name, item[name]]));
}
