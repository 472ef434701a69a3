import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YNode } from "yaml";

/** A parsed YAML document that can say on which line any path starts. */
export class YamlSource {
  private constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /**
   * Parses `text`. At most `maxErrors` errors are described; `more` counts the rest. Duplicate keys
   * are found here in linear time (the yaml library's own `uniqueKeys` check is quadratic in the
   * size of a map: 32k keys took seconds).
   */
  static parse(
    text: string,
    maxErrors = 50,
  ): { source: YamlSource; errors: { message: string; line?: number; column?: number }[]; more: number } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
    const errors: { message: string; line?: number; column?: number }[] = [];
    let more = 0;
    const add = (message: string, offset?: number, pos?: { line: number; col: number }) => {
      if (errors.length >= maxErrors) more++;
      else {
        const at = pos ?? (offset !== undefined ? lines.linePos(offset) : undefined);
        errors.push({ message, line: at?.line, column: at?.col });
      }
    };
    for (const e of doc.errors) add(e.message.split("\n")[0] ?? e.message, e.pos?.[0], e.linePos?.[0]);
    visit(doc, {
      Map(_, map) {
        const seen = new Set<string>();
        for (const pair of map.items) {
          if (!isScalar(pair.key)) continue;
          const k = String(pair.key.value);
          if (seen.has(k)) add(`Map keys must be unique (${JSON.stringify(k)} appears twice)`, pair.key.range?.[0]);
          seen.add(k);
        }
      },
    });
    return { source: new YamlSource(doc, lines), errors, more };
  }

  /** The document as plain data; throws (ReferenceError) past `maxAliasCount` resolved aliases. */
  toJS(maxAliasCount = 100): unknown {
    return this.doc.toJS({ maxAliasCount });
  }

  /** Line of the value at path; with `key`, the line of that key inside the map at path. */
  line(path: readonly (string | number)[], key?: string): number | undefined {
    let node: unknown = this.doc.contents;
    let lastKeyLine: number | undefined;
    for (const k of key === undefined ? path : [...path, key]) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(k));
        if (!pair) break;
        lastKeyLine = this.at(pair.key as YNode);
        node = pair.value;
      } else if (isSeq(node) && typeof k === "number") {
        node = node.items[k];
        lastKeyLine = this.at(node as YNode);
      } else break;
    }
    return key !== undefined ? lastKeyLine : (this.at(node as YNode) ?? lastKeyLine);
  }

  private at(node: YNode | null | undefined): number | undefined {
    const r = node && (node as { range?: [number, number, number] }).range;
    return r ? this.lines.linePos(r[0]).line : undefined;
  }
}
