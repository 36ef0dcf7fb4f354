import type { MemberRef, ModelExtract, Shape } from './types';
import { shapeOf } from './validate';

// XML as the published models bind it (restXml and awsQuery answers): element names from the
// members' xmlName trait, lists and maps wrapped unless flattened.

/** The element name a member is serialized under: its `xmlName` trait, else its own name. */
export function xmlNameOf(name: string, ref: MemberRef | undefined): string {
  return (ref?.traits?.['smithy.api#xmlName'] as string | undefined) ?? name;
}

export interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

/** A small XML reader for S3 request payloads (elements and text; attributes and namespaces ignored). */
export function parseXml(xml: string): XmlNode {
  const root: XmlNode = { name: '#document', children: [], text: '' };
  const stack: XmlNode[] = [root];
  const re = /<\?[^>]*\?>|<!--[\s\S]*?-->|<!\[CDATA\[([\s\S]*?)\]\]>|<\/([^\s>]+)\s*>|<([^\s/>]+)[^>]*?(\/)?>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(xml))) {
    if (m.index !== consumed) throw new Error('not well-formed');
    consumed = re.lastIndex;
    const top = stack[stack.length - 1];
    if (m[1] !== undefined) top.text += m[1];
    else if (m[2]) {
      if (stack.length < 2 || localName(top.name) !== localName(m[2])) throw new Error(`unexpected </${m[2]}>`);
      stack.pop();
    } else if (m[3]) {
      const node: XmlNode = { name: localName(m[3]), children: [], text: '' };
      top.children.push(node);
      if (!m[4]) stack.push(node);
    } else if (m[5] !== undefined) top.text += unescapeXml(m[5]);
  }
  if (consumed !== xml.length || stack.length !== 1) throw new Error('not well-formed');
  if (root.children.length !== 1) throw new Error('one root element expected');
  return root.children[0];
}

function localName(n: string): string {
  return n.includes(':') ? n.slice(n.indexOf(':') + 1) : n;
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|apos|quot|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    return ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' } as Record<string, string>)[e];
  });
}

/**
 * An XML element's content as the shape says (restXml: lists wrap `<member>` unless flattened,
 * maps wrap `<entry><key/><value/></entry>`). An element no member binds to is kept under its
 * own name so the validator reports it as an unknown member.
 */
export function decodeXml(model: ModelExtract, shape: Shape, node: XmlNode): unknown {
  if (shape.type === 'structure' || shape.type === 'union') {
    const out: Record<string, unknown> = {};
    const members = Object.entries(shape.members ?? {});
    for (const child of node.children) {
      const hit = members.find(([name, m]) => xmlNameOf(name, m) === child.name);
      if (!hit) {
        out[child.name] = child.text;
        continue;
      }
      const [name, m] = hit;
      const target = shapeOf(model, m.target);
      if ((target.type === 'list' || target.type === 'set') && m.traits?.['smithy.api#xmlFlattened'] !== undefined) {
        ((out[name] ??= []) as unknown[]).push(decodeXml(model, shapeOf(model, target.member!.target), child));
      } else out[name] = decodeXml(model, target, child);
    }
    return out;
  }
  if (shape.type === 'list' || shape.type === 'set') {
    const itemName = xmlNameOf('member', shape.member);
    const item = shapeOf(model, shape.member!.target);
    return node.children.map((c) => (c.name === itemName ? decodeXml(model, item, c) : { [c.name]: c.text }));
  }
  if (shape.type === 'map') {
    const out: Record<string, unknown> = {};
    for (const entry of node.children) {
      const k = entry.children.find((c) => c.name === xmlNameOf('key', shape.key));
      const v = entry.children.find((c) => c.name === xmlNameOf('value', shape.value));
      out[k?.text ?? ''] = v ? decodeXml(model, shapeOf(model, shape.value!.target), v) : undefined;
    }
    return out;
  }
  return node.text;
}
