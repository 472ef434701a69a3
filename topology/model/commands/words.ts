/** Command lines as typed in lab files (incus, openstack), split into words. */

/** Splits a command line like a POSIX shell would for plain words and quotes (no expansions). */
export function shellWords(line: string, Err: new (m: string) => Error = Error): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      any = true;
    } else if (c === "\\" && i + 1 < line.length) {
      const n = line[++i]!;
      if (n !== "\n") cur += n;
      any = true;
    } else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = "";
      any = false;
    } else cur += c;
  }
  if (quote) throw new Err(`unterminated ${quote} quote`);
  if (cur || any) out.push(cur);
  return out;
}
