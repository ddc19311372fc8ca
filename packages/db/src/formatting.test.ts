import { EntityFormatter } from 'dynamodb-toolbox';
import fc from 'fast-check';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createDocumentClient } from './client.js';
import { createDb } from './db.js';
import { formatterOf } from './formatting.js';

// Formatting reads no database: the client is never called.
const db = createDb(createDocumentClient({ region: 'local', endpoint: 'http://127.0.0.1:9' }), 'leonidas');
type Raw = Record<string, unknown>;

/** What the toolbox's own formatter makes of `raw`: the record, or the message it throws. */
function toolboxReading(entity: Parameters<typeof formatterOf>[0], raw: Raw) {
  try {
    return { record: entity.build(EntityFormatter).format(raw) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function fastReading(entity: Parameters<typeof formatterOf>[0], raw: Raw) {
  try {
    return { record: formatterOf(entity)(raw) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/** Stored values, right and wrong: what a table can hold, and what a bug or another entity could leave. */
const storedValue = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 8 }),
  fc.constantFrom('PROJECT', 'USER', 'FILE', 'COMPLETED', 'assistant'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
);

type Attribute = { type: string; props: { savedAs?: unknown; required?: unknown; enum?: unknown } };

/** A value this attribute may hold: of its type, one of its values, absent when it is optional. */
function validValue(attribute: Attribute, entityName: string) {
  const values = Array.isArray(attribute.props.enum) ? attribute.props.enum : undefined;
  const value =
    attribute.type === 'string'
      ? values
        ? fc.constantFrom(...values.filter((v) => v !== 'PROJECT' || entityName === 'PROJECT'))
        : fc.string({ maxLength: 8 })
      : attribute.type === 'number'
        ? fc.oneof(fc.integer(), fc.double({ noNaN: true }))
        : attribute.type === 'boolean'
          ? fc.boolean()
          : storedValue;
  return attribute.props.required === 'never' ? fc.option(value, { nil: undefined }) : value;
}

/**
 * Items as the entity stores them (each attribute under its stored name, with the table's keys), and some with
 * one attribute spoilt: removed, or given a value of another kind.
 */
function storedItems(entity: Parameters<typeof formatterOf>[0]) {
  const attributes = Object.entries(entity.schema.attributes as Record<string, Attribute>);
  const storedName = ([name, attribute]: [string, Attribute]) =>
    typeof attribute.props.savedAs === 'string' ? attribute.props.savedAs : name;
  const valid = fc.record({
    ...Object.fromEntries(
      attributes.map((entry) => [storedName(entry), validValue(entry[1], entity.entityName)]),
    ),
    pk: fc.string({ maxLength: 8 }),
    sk: fc.string({ maxLength: 8 }),
  });
  const spoilt = fc.option(fc.tuple(fc.constantFrom(...attributes.map(storedName)), storedValue), {
    freq: 2,
    nil: undefined,
  });
  return fc.tuple(valid, spoilt).map(([item, change]): Raw => {
    if (!change) return item;
    const [name, value] = change;
    return { ...item, [name]: value };
  });
}

describe('formatterOf', () => {
  const entities = Object.entries(db.entities);

  it.each(entities)('reads a %s item exactly as dynamodb-toolbox does, errors included', (_name, entity) => {
    let read = 0;
    fc.assert(
      fc.property(storedItems(entity), (raw) => {
        const reading = fastReading(entity, raw);
        if ('record' in reading) read++;
        expect(reading).toEqual(toolboxReading(entity, raw));
      }),
      { numRuns: 500, seed: 20 },
    );
    // For the entities read by the compiled path, most generated items are whole: most readings are records.
    const flat = Object.values(entity.schema.attributes as Record<string, Attribute>).every((attribute) =>
      ['string', 'number', 'boolean'].includes(attribute.type),
    );
    if (flat) expect(read).toBeGreaterThan(250);
  });

  it('reads a stored project to its record, leaving out the table keys and the entity name', () => {
    const stored = {
      pk: 'USER#u1',
      sk: 'PROJECT#p1',
      _et: 'PROJECT',
      userId: 'u1',
      projectId: 'p1',
      name: 'Churn',
      description: '',
      version: 2,
      createdAt: '2026-11-27T00:00:00.000Z',
      updatedAt: '2026-11-27T01:00:00.000Z',
    };
    const toolbox = vi.spyOn(EntityFormatter.prototype, 'format');
    onTestFinished(() => toolbox.mockRestore());
    const { pk: _pk, sk: _sk, _et, ...record } = stored;
    expect(formatterOf(db.entities.project)(stored)).toEqual(record);
    expect(Object.keys(record)).toHaveLength(7);
    // Compiled: a whole item does not go through the toolbox's formatter.
    expect(toolbox).not.toHaveBeenCalled();
    // Another entity's item under the same keys is refused, by the toolbox's own formatter and error.
    expect(() => formatterOf(db.entities.project)({ ...stored, _et: 'FILE' })).toThrow(/Should be one of/);
    expect(() => formatterOf(db.entities.project)({ ...stored, version: '2' })).toThrow(/Should be a number/);
    expect(() => formatterOf(db.entities.project)({ ...stored, name: undefined })).toThrow(
      /Missing required/,
    );
    expect(() => formatterOf(db.entities.project)({ ...stored, version: Number.NaN })).toThrow(
      /Should be a number/,
    );
    expect(toolbox).toHaveBeenCalledTimes(4);
  });
});
