import { LIMITS } from "./limits.ts";
import { type Problem, pathString } from "./problems.ts";
import type { YamlSource } from "./yaml-source.ts";

/** A path in the lab document: map keys and list indexes. */
export type Path = (string | number)[];

/** The problems found in one lab file, each placed at its path and line; at most LIMITS.problems are described. */
export class Problems {
  readonly list: Problem[] = [];
  /** Problems found beyond LIMITS.problems: counted, not described (describing them costs time). */
  dropped = 0;
  constructor(
    readonly file: string,
    readonly source: YamlSource,
  ) {}
  add(path: Path, message: string, hint?: string, key?: string): void {
    if (this.list.length >= LIMITS.problems) {
      this.dropped++;
      return;
    }
    this.list.push({
      file: this.file,
      path: pathString(key === undefined ? path : [...path, key]),
      line: this.source.line(path, key),
      message,
      hint,
    });
  }
}
