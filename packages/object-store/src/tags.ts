import { malformedXml, S3Error } from './errors.js';
import { branch, leaf, parseXmlDocument, xmlChildren, xmlDocument, xmlText } from './xml.js';

export interface Tag {
  key: string;
  value: string;
}

const MAX_TAGS = 10;
const MAX_KEY_CHARACTERS = 128;
const MAX_VALUE_CHARACTERS = 256;

const invalidTag = (message: string) => new S3Error(400, 'InvalidTag', message);

/** S3's limits on an object's tag set, checked on every way tags come in. */
export function validateTags(tags: readonly Tag[]): readonly Tag[] {
  if (tags.length > MAX_TAGS) throw invalidTag(`Object tags cannot be greater than ${MAX_TAGS}`);
  const keys = new Set<string>();
  for (const { key, value } of tags) {
    if (key === '') throw invalidTag('The TagKey you have provided is invalid');
    if ([...key].length > MAX_KEY_CHARACTERS) {
      throw invalidTag(`The TagKey you have provided is too long, max ${MAX_KEY_CHARACTERS}`);
    }
    if ([...value].length > MAX_VALUE_CHARACTERS) {
      throw invalidTag(`The TagValue you have provided is too long, max ${MAX_VALUE_CHARACTERS}`);
    }
    if (keys.has(key)) throw invalidTag('Cannot provide multiple Tags with the same key');
    keys.add(key);
  }
  return tags;
}

/** The `x-amz-tagging` form (`k=v&k2=v2`, URL-encoded): the request header, and how tags are kept on disk. */
export function tagsFromQueryString(encoded: string): Tag[] {
  return [...new URLSearchParams(encoded)].map(([key, value]) => ({ key, value }));
}

export function tagsToQueryString(tags: readonly Tag[]): string {
  return tags.map(({ key, value }) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');
}

/** `<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>`, as PutObjectTagging and POST forms send it. */
export function tagsFromXml(xml: string): Tag[] {
  const tagSet = parseXmlDocument(xml, 'Tagging').TagSet;
  if (tagSet === undefined) throw malformedXml();
  const tags = xmlChildren(tagSet).Tag ?? [];
  if (!Array.isArray(tags)) throw malformedXml();
  return tags.map((element: unknown) => {
    const tag = xmlChildren(element);
    return { key: xmlText(tag.Key), value: xmlText(tag.Value) };
  });
}

export function taggingXml(tags: readonly Tag[]): string {
  const elements = tags.map(({ key, value }) => branch('Tag', [leaf('Key', key), leaf('Value', value)]));
  return xmlDocument('Tagging', [branch('TagSet', elements)]);
}
