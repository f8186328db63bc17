// Finds non-null assertions (`x!`) and `as` casts that no comment explains (on the same line or the
// line above). `as const` and `import … as` do not count.
const NON_NULL = /[\w)\]]!(?=[.),;[\]\s:])/;
const CAST = /\bas (?!const\b)[A-Za-z_([{]/;

export interface Unexplained {
  readonly line: number;
  readonly text: string;
}

export function unexplainedCasts(source: string): Unexplained[] {
  const lines = source.split('\n');
  const out: Unexplained[] = [];
  let inBlockComment = false;
  lines.forEach((line, i) => {
    const trimmed = line.trim();
    if (inBlockComment || trimmed.startsWith('/*') || trimmed.startsWith('*')) {
      inBlockComment = !trimmed.includes('*/') && (inBlockComment || trimmed.startsWith('/*'));
      return;
    }
    if (/^(import|export)\b.*\bfrom\b/.test(trimmed) || /^import\b/.test(trimmed)) return;
    const code = stripStrings(line.split('//')[0] ?? '').replace(/!==?/g, '  ');
    if (!NON_NULL.test(code) && !CAST.test(code)) return;
    const explained = line.includes('//') || line.includes('/*') || (lines[i - 1]?.trim().startsWith('//') ?? false);
    if (!explained) out.push({ line: i + 1, text: trimmed });
  });
  return out;
}

/** The line with string and template literal contents blanked (a `!` or `as` in a message is not code). */
function stripStrings(code: string): string {
  return code.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''");
}
