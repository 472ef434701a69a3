/**
 * Text from a lab file (names, messages quoting it, command output) is printed through this: terminal
 * control sequences, other C0/C1 control characters and bidirectional overrides are shown escaped
 * (`\u001b`), so a hostile lab cannot move the cursor, retitle the terminal or reorder what is shown.
 * Newlines and tabs stay.
 */
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(s: string): string {
  return s.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
