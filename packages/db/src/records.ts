import type { FormattedItem } from 'dynamodb-toolbox';
import type { LeonidasEntities } from './entities.js';

/**
 * The stored records as reads return them, typed from the entities themselves (index attributes are hidden
 * there, so they never reach a caller): an attribute added to an entity is in its record type at once.
 */
type Stored<NAME extends keyof LeonidasEntities> = FormattedItem<LeonidasEntities[NAME]>;

export type UserRecord = Stored<'user'>;
export type LoginGuardRecord = Stored<'loginGuard'>;
export type UsageRecord = Stored<'usage'>;
export type ProjectRecord = Stored<'project'>;
export type FileRecord = Stored<'file'>;
export type SessionRecord = Stored<'session'>;
export type MessageRecord = Stored<'message'>;
export type DeletionRecord = Stored<'deletion'>;
export type RefreshFamilyRecord = Stored<'refreshFamily'>;
export type RefreshTokenRecord = Stored<'refreshToken'>;
