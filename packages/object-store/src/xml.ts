import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { malformedXml } from './errors.js';

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';
const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** An element holding text. */
export const leaf = (name: string, value: string | number | boolean): string =>
  `<${name}>${escapeXml(String(value))}</${name}>`;

/** An element holding other elements (already rendered). */
export const branch = (name: string, children: readonly string[]): string =>
  `<${name}>${children.join('')}</${name}>`;

export const xmlDocument = (root: string, children: readonly string[], namespaced = true): string =>
  `${DECLARATION}<${root}${namespaced ? ` xmlns="${S3_NAMESPACE}"` : ''}>${children.join('')}</${root}>`;

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
};

/**
 * The parser is told to leave entities alone because it only knows the named ones, while the SDK writes some
 * characters of keys as numeric references (`&#x2028;`, `&#x85;`); both kinds are decoded here, once.
 */
function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (_entity, body: string) => {
    if (body.startsWith('#')) {
      const codePoint = body.startsWith('#x') ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
      // XML allows no reference to NUL or to a lone surrogate.
      if (codePoint === 0 || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
        throw malformedXml();
      }
      return String.fromCodePoint(codePoint);
    }
    const named = NAMED_ENTITIES[body];
    if (named === undefined) throw malformedXml();
    return named;
  });
}

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  parseTagValue: false,
  processEntities: false,
  trimValues: false,
  // Repeated elements of the documents we read; one occurrence must still come back as a list.
  isArray: (name) => name === 'Object' || name === 'Tag',
});

export type XmlObject = { readonly [name: string]: unknown };

const isXmlObject = (value: unknown): value is XmlObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Parses a request document whose root must be `root`; returns the root's children. Document type declarations
 * (entity expansion) and CDATA sections are refused: no S3 client sends them.
 */
export function parseXmlDocument(xml: string, root: string): XmlObject {
  if (/<!DOCTYPE|<!\[CDATA\[/i.test(xml) || XMLValidator.validate(xml) !== true) throw malformedXml();
  const document: unknown = parser.parse(xml);
  if (!isXmlObject(document)) throw malformedXml();
  const names = Object.keys(document);
  if (names.length !== 1 || names[0] !== root) throw malformedXml();
  return xmlChildren(document[root]);
}

/** The child elements of an element that must hold elements only (or nothing but whitespace). */
export function xmlChildren(value: unknown): XmlObject {
  if (isXmlObject(value)) return value;
  if (typeof value === 'string' && value.trim() === '') return {};
  throw malformedXml();
}

/** The text of an element that must hold text only (an empty element is the empty string). */
export function xmlText(value: unknown): string {
  if (typeof value !== 'string') throw malformedXml();
  return decodeEntities(value);
}
