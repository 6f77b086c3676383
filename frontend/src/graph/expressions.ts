// The `${{ }}` syntax as the server parses it (chalicelib/domain/expressions.py): same
// tokens, same grammar, same notion of a reference. Only parsing lives here, never
// evaluation; every reference keeps where it was written so it can be rewritten in place.

export interface ReferencePart {
  value: string;
  // The text that names this part: the first name itself, or `.name` / `['name']` after it.
  start: number;
  end: number;
}

export interface Reference {
  parts: ReferencePart[];
}

export interface ExpressionBlock {
  // `${{` to `}}` inclusive, as offsets in the template text.
  start: number;
  end: number;
  references: Reference[];
}

type TokenKind = "string" | "number" | "operator" | "name";

interface Token {
  kind: TokenKind;
  value: string;
  start: number;
  end: number;
}

const TOKEN =
  /\s*(?:(?<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?<number>-?\d+(?:\.\d+)?)|(?<operator>==|!=|&&|\|\||!|\(|\)|\.|\[|\])|(?<name>[A-Za-z_][A-Za-z0-9_-]*))/y;

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

class ExpressionError extends Error {}

function tokenize(text: string, offset: number): Token[] {
  const tokens: Token[] = [];
  let position = 0;
  while (position < text.length) {
    if (text.slice(position).trim() === "") break;
    TOKEN.lastIndex = position;
    const match = TOKEN.exec(text);
    const groups = match?.groups;
    if (!match || !groups || TOKEN.lastIndex === position) throw new ExpressionError(text);
    const kind = (["string", "number", "operator", "name"] as const).find((name) => groups[name] !== undefined);
    if (!kind) throw new ExpressionError(text);
    const value = groups[kind] ?? "";
    const end = TOKEN.lastIndex;
    tokens.push({ kind, value, start: offset + end - value.length, end: offset + end });
    position = end;
  }
  return tokens;
}

const unquote = (token: string) => token.slice(1, -1).replace(/\\(.)/g, "$1");

class Parser {
  private index = 0;
  readonly references: Reference[] = [];

  constructor(private readonly tokens: Token[]) {}

  parse(): void {
    if (this.tokens.length === 0) throw new ExpressionError("empty expression");
    this.or();
    if (this.index < this.tokens.length) throw new ExpressionError("unexpected token");
  }

  private peek(): string | undefined {
    return this.tokens[this.index]?.value;
  }

  private take(): Token {
    const token = this.tokens[this.index];
    if (!token) throw new ExpressionError("ends too early");
    this.index += 1;
    return token;
  }

  private expect(symbol: string): Token {
    const token = this.take();
    if (token.kind !== "operator" || token.value !== symbol) throw new ExpressionError(`expected ${symbol}`);
    return token;
  }

  private or(): void {
    this.and();
    while (this.peek() === "||") {
      this.take();
      this.and();
    }
  }

  private and(): void {
    this.unary();
    while (this.peek() === "&&") {
      this.take();
      this.unary();
    }
  }

  private unary(): void {
    if (this.peek() === "!") {
      this.take();
      this.unary();
      return;
    }
    this.primary();
    if (this.peek() === "==" || this.peek() === "!=") {
      this.take();
      this.primary();
    }
  }

  private primary(): void {
    const token = this.take();
    if (token.kind === "operator" && token.value === "(") {
      this.or();
      this.expect(")");
    } else if (token.kind === "name") {
      if (!["true", "false", "null"].includes(token.value)) this.reference(token);
    } else if (token.kind !== "string" && token.kind !== "number") {
      throw new ExpressionError(`unexpected ${token.value}`);
    }
  }

  private reference(first: Token): void {
    const parts: ReferencePart[] = [{ value: first.value, start: first.start, end: first.end }];
    while (this.peek() === "." || this.peek() === "[") {
      const opener = this.take();
      const token = this.take();
      if (opener.value === ".") {
        if (token.kind !== "name" && token.kind !== "number") throw new ExpressionError("expected a name");
        parts.push({ value: token.value, start: opener.start, end: token.end });
      } else {
        if (token.kind !== "string") throw new ExpressionError("expected a quoted key");
        const closer = this.expect("]");
        parts.push({ value: unquote(token.value), start: opener.start, end: closer.end });
      }
    }
    this.references.push({ parts });
  }
}

function parseExpression(text: string, offset: number): Reference[] {
  const parser = new Parser(tokenize(text, offset));
  parser.parse();
  return parser.references;
}

function closingBraces(text: string, from: number): number {
  let quote = "";
  for (let position = from; position < text.length - 1; position++) {
    const char = text[position];
    if (quote) {
      if (char === "\\") position += 1;
      else if (char === quote) quote = "";
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (text.startsWith("}}", position)) {
      return position;
    }
  }
  return -1;
}

/** The `${{ }}` blocks of a template, or undefined when the server would refuse to parse it. */
export function templateBlocks(text: string): ExpressionBlock[] | undefined {
  const blocks: ExpressionBlock[] = [];
  let position = 0;
  try {
    for (;;) {
      const start = text.indexOf("${{", position);
      if (start < 0) return blocks;
      const end = closingBraces(text, start + 3);
      if (end < 0) return undefined;
      const references = parseExpression(text.slice(start + 3, end), start + 3);
      blocks.push({ start, end: end + 2, references });
      position = end + 2;
    }
  } catch (error) {
    if (error instanceof ExpressionError) return undefined;
    throw error;
  }
}

/** The references of an `if`: a bare expression, or one wrapped in `${{ }}`. */
export function conditionReferences(text: string): Reference[] | undefined {
  const lead = text.length - text.trimStart().length;
  const stripped = text.trim();
  if (stripped.startsWith("${{") && stripped.endsWith("}}")) {
    const blocks = templateBlocks(text);
    if (blocks?.length === 1 && blocks[0]?.start === lead && blocks[0].end === lead + stripped.length) {
      return blocks[0].references;
    }
  }
  try {
    return parseExpression(stripped, lead);
  } catch (error) {
    if (error instanceof ExpressionError) return undefined;
    throw error;
  }
}

/** `.name` where the tokenizer reads a name, `['name']` otherwise (e.g. a job named `7up`). */
export function accessor(name: string): string {
  return NAME.test(name) ? `.${name}` : `['${name.replace(/['\\]/g, "\\$&")}']`;
}

export function jobOutputExpression(job: string, output: string): string {
  return `\${{ jobs${accessor(job)}.outputs${accessor(output)} }}`;
}
