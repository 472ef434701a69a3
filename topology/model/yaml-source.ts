import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YNode } from "yaml";

/** A parsed YAML document that can say on which line any path starts. */
export class YamlSource {
  private constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  static parse(text: string): { source: YamlSource; errors: { message: string; line?: number }[] } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const errors = [...doc.errors].map((e) => ({
      message: e.message.split("\n")[0] ?? e.message,
      line: e.linePos?.[0]?.line ?? (e.pos ? lines.linePos(e.pos[0]).line : undefined),
    }));
    return { source: new YamlSource(doc, lines), errors };
  }

  toJS(): unknown {
    return this.doc.toJS();
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
