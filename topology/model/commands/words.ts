/**
 * Command lines as typed in lab files (incus, openstack), split into words exactly as bash splits
 * the same text for a simple command: blanks separate words; `'…'` is literal; in `"…"` a backslash
 * escapes only `$ \` " \\` and a line break; an unquoted backslash escapes the next character, and a
 * backslash before a line break continues the line (both vanish); `#` at the start of a word begins
 * a comment. What bash would expand, run or redirect is refused with the reason, so that every line
 * labwright accepts gives the words bash would (suites/harness/words.test.ts checks it against bash):
 * an unquoted line break (it would end the command), `> | ; & ( )`, a `~` (a home directory) and
 * `{a,b}` / `{1..3}` (brace expansion). There is no globbing: `*`, `?` and `[` are literal, as in bash
 * with `set -f`. One redirection is understood: `< file` at the end gives the command that file on
 * standard input (`stdin`).
 */

export interface SplitLine {
  words: string[];
  /** The file after a final `< file`, as written. */
  stdin?: string;
}

/** Marks a character that was quoted or escaped (it cannot start a brace expansion or a comment). */
const QUOTED = "\u0001";

export function splitCommand(line: string, Err: new (m: string) => Error = Error): SplitLine {
  const words: string[] = [];
  let cur = "";
  /** The word with its quoted characters masked: what brace expansion would see. */
  let bare = "";
  let started = false;
  let stdin: string | undefined;
  let redirecting = false;
  const flush = () => {
    if (!started) return;
    if (/\{[^{}]*(,|\.\.)[^{}]*\}/.test(bare))
      throw new Err(`${JSON.stringify(cur)}: a shell would expand the braces into several words: quote the word`);
    if (redirecting) {
      if (stdin !== undefined) throw new Err("one `< file` at most");
      stdin = cur;
      redirecting = false;
    } else {
      if (stdin !== undefined) throw new Err("`< file` comes last, after every argument");
      words.push(cur);
    }
    cur = "";
    bare = "";
    started = false;
  };
  const add = (c: string, quoted: boolean) => {
    cur += c;
    bare += quoted ? QUOTED : c;
    started = true;
  };
  let i = 0;
  const endOfCommand = () => {
    // An unquoted line break ends the command in a shell: only blanks (and comments) may follow.
    const rest = line.slice(i + 1);
    if (rest.split("\n").some((l) => l.trim() && !l.trim().startsWith("#")))
      throw new Err("a line break ends the command in a shell: end the line with \\ to continue it on the next one");
    i = line.length;
  };
  for (; i < line.length; i++) {
    const c = line[i]!;
    const next = line[i + 1];
    if (c === "\\") {
      if (next === undefined) add("\\", true);
      else if (next !== "\n") add(line[++i]!, true);
      else i++; // a continuation: backslash and line break vanish
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Err("unterminated ' quote");
      for (const q of line.slice(i + 1, end)) add(q, true);
      started = true;
      i = end;
    } else if (c === '"') {
      started = true;
      for (i++; ; i++) {
        if (i >= line.length) throw new Err('unterminated " quote');
        const d = line[i]!;
        if (d === '"') break;
        if (d === "\\" && i + 1 < line.length && '$`"\\\n'.includes(line[i + 1]!)) {
          i++;
          if (line[i] !== "\n") add(line[i]!, true);
        } else add(d, true);
      }
    } else if (c === " " || c === "\t") flush();
    else if (c === "\n") {
      flush();
      endOfCommand();
    } else if (c === "#" && !started) {
      const nl = line.indexOf("\n", i);
      if (nl < 0) break;
      i = nl;
      endOfCommand();
    } else if (c === "<") {
      flush();
      if (redirecting) throw new Err("`<<` (a here-document) is shell syntax: give the text in a file, `< file`");
      redirecting = true;
    } else if (">|;&()".includes(c)) {
      throw new Err(
        `\`${c}\` is shell syntax: labwright runs the command with these words as arguments, no shell (quote it if it is part of a value)`,
      );
    } else if (c === "~") {
      throw new Err("a shell would expand `~` to a home directory: quote it, or write the path in full");
    } else add(c, false);
  }
  flush();
  if (redirecting) throw new Err("`<` needs a file name after it");
  return { words, ...(stdin !== undefined ? { stdin } : {}) };
}

/** The words of a line with no redirection (a `< file` is an error here). */
export function shellWords(line: string, Err: new (m: string) => Error = Error): string[] {
  const s = splitCommand(line, Err);
  if (s.stdin !== undefined) throw new Err("`< file` is not taken here");
  return s.words;
}
