// What is wrong with text JSON.parse refused, and where, in rapidjson's words (as TF Serving says
// them), never quoting the text: JSON.parse's own messages carry bytes of it, and files can hold
// secrets (a broken warmup.json put its first bytes into REST status).

const WS = new Set([0x20, 0x0a, 0x0d, 0x09]);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

class Scan {
  i = 0;
  constructor(private readonly s: string) {}

  fail(what: string, at = this.i): never {
    throw new SyntaxAt(what, at);
  }

  ws(): void {
    while (this.i < this.s.length && WS.has(this.s.charCodeAt(this.i))) this.i++;
  }

  value(depth: number): void {
    if (depth > 512) this.fail('Nesting is too deep');
    const c = this.s[this.i];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    for (const word of ['true', 'false', 'null']) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    this.fail('Invalid value');
  }

  number(): void {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.s.slice(this.i, this.i + 1000));
    if (!m) this.fail('Invalid value');
    if (this.s[this.i + m[0].length] === '.') this.fail('Missing fraction part in number', this.i + m[0].length + 1);
    this.i += m[0].length;
  }

  string(): void {
    const start = this.i++;
    for (;;) {
      if (this.i >= this.s.length) this.fail('Missing a closing quotation mark in string', start);
      const c = this.s[this.i]!; // this.i < length: checked just above
      if (c === '"') {
        this.i++;
        return;
      }
      if (c.charCodeAt(0) < 0x20) this.fail('Invalid encoding in string');
      if (c === '\\') {
        const e = this.s[this.i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.s.slice(this.i + 2, this.i + 6))) this.fail('Incorrect hex digit after \\u escape in string', this.i + 2);
          this.i += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) this.fail('Invalid escape character in string', this.i + 1);
        this.i += 2;
        continue;
      }
      this.i++;
    }
  }

  array(depth: number): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return;
    }
    for (;;) {
      this.value(depth + 1);
      this.ws();
      const c = this.s[this.i];
      if (c === ']') {
        this.i++;
        return;
      }
      if (c !== ',') this.fail("Missing a comma or ']' after an array element");
      this.i++;
      this.ws();
    }
  }

  object(depth: number): void {
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return;
    }
    for (;;) {
      if (this.s[this.i] !== '"') this.fail('Missing a name for object member');
      this.string();
      this.ws();
      if (this.s[this.i] !== ':') this.fail('Missing a colon after a name of object member');
      this.i++;
      this.ws();
      this.value(depth + 1);
      this.ws();
      const c = this.s[this.i];
      if (c === '}') {
        this.i++;
        return;
      }
      if (c !== ',') this.fail("Missing a comma or '}' after an object member");
      this.i++;
      this.ws();
    }
  }
}

class SyntaxAt extends Error {
  constructor(
    readonly what: string,
    readonly at: number,
  ) {
    super(what);
  }
}

/** The first syntax error of `text` as strict JSON: "what at line L, column C (character N)". */
export function describeJsonSyntaxError(text: string): string {
  const scan = new Scan(text);
  try {
    scan.ws();
    if (scan.i >= text.length) return 'The document is empty';
    scan.value(0);
    scan.ws();
    if (scan.i < text.length) scan.fail('The document root must not be followed by other values');
    return 'not valid JSON';
  } catch (e) {
    if (!(e instanceof SyntaxAt)) throw e;
    const before = text.slice(0, e.at);
    const line = before.split('\n').length;
    const column = e.at - before.lastIndexOf('\n');
    return `${e.what} at line ${line}, column ${column} (character ${e.at})`;
  }
}
