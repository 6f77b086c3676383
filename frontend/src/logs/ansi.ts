// ANSI escape sequences in a log line, turned into styled text segments.
//
// Only SGR ("Select Graphic Rendition", `ESC [ ... m`) changes how text looks; every other
// escape sequence (cursor moves, erase, OSC titles and hyperlinks, DCS/APC strings, charset
// switches...) and every other control character is dropped, so nothing raw ever reaches
// the page. A broken sequence is dropped up to the character that broke it. Colours are CSS
// values from a fixed palette or `rgb()` built from numbers checked to be 0..255: nothing
// from the log is ever copied into a style.
//
// Pure TypeScript, no DOM, no React.

export interface AnsiStyle {
  readonly color?: string;
  readonly background?: string;
  readonly bold?: boolean;
  readonly dim?: boolean;
  readonly italic?: boolean;
  readonly underline?: boolean;
}

export interface AnsiSegment {
  readonly text: string;
  readonly style: AnsiStyle;
}

export interface AnsiLine {
  /** The visible text, in order; never an empty segment, never two neighbours alike. */
  readonly segments: AnsiSegment[];
  /** The style in force at the end of the line: the next line starts with it. */
  readonly end: AnsiStyle;
}

/** No styling at all: the style a log starts with. */
export const PLAIN: AnsiStyle = Object.freeze({});

/** Colours 0-7 (SGR 30-37 / 40-47), chosen to read well on a dark background. */
const NORMAL = ["#3f4451", "#e06c75", "#98c379", "#e5c07b", "#61afef", "#c678dd", "#56b6c2", "#d4d7dd"] as const;
/** Colours 8-15 (SGR 90-97 / 100-107). */
const BRIGHT = ["#7f848e", "#ff7b86", "#b5e890", "#ffd68a", "#7ec4ff", "#e39cf5", "#6fd6e2", "#ffffff"] as const;
/** The 6 levels of each channel in the 256-colour cube (16-231). */
const CUBE = [0, 95, 135, 175, 215, 255] as const;

function rgb(r: number, g: number, b: number): string | undefined {
  const ok = (value: number) => Number.isInteger(value) && value >= 0 && value <= 255;
  return ok(r) && ok(g) && ok(b) ? `rgb(${r}, ${g}, ${b})` : undefined;
}

/** A colour of the xterm 256-colour table, or undefined when `index` is not 0..255. */
export function color256(index: number): string | undefined {
  if (!Number.isInteger(index) || index < 0 || index > 255) return undefined;
  if (index < 8) return NORMAL[index];
  if (index < 16) return BRIGHT[index - 8];
  if (index < 232) {
    const cube = index - 16;
    return rgb(CUBE[Math.floor(cube / 36)] ?? 0, CUBE[Math.floor(cube / 6) % 6] ?? 0, CUBE[cube % 6] ?? 0);
  }
  const grey = 8 + (index - 232) * 10;
  return rgb(grey, grey, grey);
}

/** The style being built while a line is read. */
interface Draft {
  color: string | undefined;
  background: string | undefined;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
}

function draftOf(style: AnsiStyle): Draft {
  return {
    color: style.color,
    background: style.background,
    bold: style.bold === true,
    dim: style.dim === true,
    italic: style.italic === true,
    underline: style.underline === true,
  };
}

function resetDraft(draft: Draft): void {
  draft.color = undefined;
  draft.background = undefined;
  draft.bold = draft.dim = draft.italic = draft.underline = false;
}

function sameStyle(a: AnsiStyle, b: AnsiStyle): boolean {
  return (
    a === b ||
    (a.color === b.color &&
      a.background === b.background &&
      (a.bold === true) === (b.bold === true) &&
      (a.dim === true) === (b.dim === true) &&
      (a.italic === true) === (b.italic === true) &&
      (a.underline === true) === (b.underline === true))
  );
}

/** A frozen style with only the keys that are set; `PLAIN` when none is. */
function freeze(draft: Draft): AnsiStyle {
  const style: { -readonly [K in keyof AnsiStyle]: AnsiStyle[K] } = {};
  if (draft.color !== undefined) style.color = draft.color;
  if (draft.background !== undefined) style.background = draft.background;
  if (draft.bold) style.bold = true;
  if (draft.dim) style.dim = true;
  if (draft.italic) style.italic = true;
  if (draft.underline) style.underline = true;
  return Object.keys(style).length === 0 ? PLAIN : Object.freeze(style);
}

/** A parameter as a number: empty means 0 (the ANSI default), absent means "not given". */
function numberOf(param: string | undefined): number {
  if (param === undefined) return Number.NaN;
  if (param === "") return 0;
  return /^[0-9]+$/.test(param) ? Number(param) : Number.NaN;
}

/**
 * An extended colour (`5;n` or `2;r;g;b` after 38/48): the colour, or undefined when the
 * numbers are missing or out of range, and how many parameters it took (all the rest of
 * the sequence when the mode is unknown).
 */
function extendedColor(params: readonly string[], withColourSpace: boolean): { color: string | undefined; used: number } {
  const mode = numberOf(params[0]);
  if (mode === 5) return { color: color256(numberOf(params[1])), used: 2 };
  if (mode === 2) {
    const first = withColourSpace ? 2 : 1; // `38:2:<colour space>:r:g:b`
    const color = rgb(numberOf(params[first]), numberOf(params[first + 1]), numberOf(params[first + 2]));
    return { color, used: first + 3 };
  }
  // An unknown mode: how many parameters belong to it cannot be known.
  return { color: undefined, used: params.length > 0 ? Number.POSITIVE_INFINITY : 0 };
}

function applyCode(draft: Draft, code: number): void {
  if (code === 0) resetDraft(draft);
  else if (code === 1) draft.bold = true;
  else if (code === 2) draft.dim = true;
  else if (code === 3) draft.italic = true;
  else if (code === 4) draft.underline = true;
  else if (code === 22) draft.bold = draft.dim = false;
  else if (code === 23) draft.italic = false;
  else if (code === 24) draft.underline = false;
  else if (code >= 30 && code <= 37) draft.color = NORMAL[code - 30];
  else if (code === 39) draft.color = undefined;
  else if (code >= 40 && code <= 47) draft.background = NORMAL[code - 40];
  else if (code === 49) draft.background = undefined;
  else if (code >= 90 && code <= 97) draft.color = BRIGHT[code - 90];
  else if (code >= 100 && code <= 107) draft.background = BRIGHT[code - 100];
  // Anything else (blink, inverse, strike-through, fonts...) is ignored.
}

/** Applies the parameters of one `ESC [ params m`; `params` holds only digits, `;` and `:`. */
function applySgr(draft: Draft, params: string): void {
  const parts = params.split(";");
  for (let index = 0; index < parts.length; index++) {
    const part = parts[index] ?? "";
    if (part.includes(":")) {
      // The ITU T.416 form: sub-parameters of one attribute (`38:2::255:0:0`, `4:3`).
      const [head, ...rest] = part.split(":");
      const code = numberOf(head);
      if (code === 38 || code === 48) {
        const { color } = extendedColor(rest, rest.length >= 5);
        if (color !== undefined) {
          if (code === 38) draft.color = color;
          else draft.background = color;
        }
      } else if (code === 4) {
        draft.underline = numberOf(rest[0]) !== 0;
      }
      continue;
    }
    const code = numberOf(part);
    if (code === 38 || code === 48) {
      const { color, used } = extendedColor(parts.slice(index + 1, index + 5), false);
      if (color !== undefined) {
        if (code === 38) draft.color = color;
        else draft.background = color;
      }
      index += used;
      continue;
    }
    if (!Number.isNaN(code)) applyCode(draft, code);
  }
}

const ESC = 0x1b;
const BEL = 0x07;
const CR = 0x0d;
const TAB = 0x09;
const C1_CSI = 0x9b;
const C1_ST = 0x9c;
/** Characters that need more than copying: controls other than tab, DEL and C1 controls. */
const SPECIAL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

function isStringIntroducer(code: number): boolean {
  // After ESC: `]` OSC, `P` DCS, `X` SOS, `^` PM, `_` APC; or their C1 forms.
  return (
    code === 0x5d || code === 0x50 || code === 0x58 || code === 0x5e || code === 0x5f ||
    code === 0x9d || code === 0x90 || code === 0x98 || code === 0x9e || code === 0x9f
  );
}

class Reader {
  readonly segments: AnsiSegment[] = [];
  private style: AnsiStyle;
  private readonly draft: Draft;
  private styled = false; // an SGR was met: `style` may differ from the draft
  private overwrite = false; // a carriage return was met: the next text starts the line again

  constructor(
    private readonly text: string,
    start: AnsiStyle,
    private readonly collect: boolean,
  ) {
    this.style = start;
    this.draft = draftOf(start);
  }

  read(): AnsiLine {
    const { text } = this;
    const length = text.length;
    let index = 0;
    let run = 0; // where the current stretch of plain text began
    while (index < length) {
      const code = text.charCodeAt(index);
      if (code === TAB || (code >= 0x20 && code < 0x7f) || code > 0x9f) {
        index++;
        continue;
      }
      this.push(text.slice(run, index));
      if (code === ESC) index = this.escape(index + 1);
      else if (code === C1_CSI) index = this.csi(index + 1);
      else if (isStringIntroducer(code)) index = this.controlString(index + 1);
      else {
        // A carriage return rewrites the line, as a progress bar does on a terminal;
        // any other control character (backspace, bell, newline...) is dropped.
        if (code === CR) this.overwrite = true;
        index++;
      }
      run = index;
    }
    this.push(text.slice(run));
    return { segments: this.segments, end: this.current() };
  }

  private current(): AnsiStyle {
    if (this.styled) {
      const next = freeze(this.draft);
      if (!sameStyle(next, this.style)) this.style = next;
      this.styled = false;
    }
    return this.style;
  }

  private push(text: string): void {
    if (!this.collect || text === "") return;
    if (this.overwrite) {
      this.segments.length = 0;
      this.overwrite = false;
    }
    const style = this.current();
    const last = this.segments[this.segments.length - 1];
    if (last && sameStyle(last.style, style)) {
      this.segments[this.segments.length - 1] = { text: last.text + text, style: last.style };
    } else {
      this.segments.push({ text, style });
    }
  }

  /** After an ESC: the index of the first character after the sequence. */
  private escape(index: number): number {
    const { text } = this;
    if (index >= text.length) return index;
    const code = text.charCodeAt(index);
    if (code === 0x5b) return this.csi(index + 1); // `[`
    if (isStringIntroducer(code) && code < 0x80) return this.controlString(index + 1);
    let next = index;
    while (next < text.length && isIntermediate(text.charCodeAt(next))) next++;
    if (next < text.length) {
      const final = text.charCodeAt(next);
      if (final >= 0x30 && final <= 0x7e) return next + 1; // `ESC 7`, `ESC ( B`, `ESC =`...
    }
    return next; // broken: drop it, read on from the character that broke it
  }

  /** After `ESC [`: parameters, intermediates, one final character. */
  private csi(index: number): number {
    const { text } = this;
    let next = index;
    while (next < text.length && isParameter(text.charCodeAt(next))) next++;
    const params = text.slice(index, next);
    const intermediates = next;
    while (next < text.length && isIntermediate(text.charCodeAt(next))) next++;
    if (next >= text.length) return next; // cut short at the end of the line: dropped
    const final = text.charCodeAt(next);
    if (final < 0x40 || final > 0x7e) return next; // broken: read on from the offending character
    if (final === 0x6d && next === intermediates && /^[0-9;:]*$/.test(params)) {
      applySgr(this.draft, params);
      this.styled = true;
    }
    return next + 1;
  }

  /** After OSC/DCS/SOS/PM/APC: skip to the string terminator (BEL, `ESC \` or ST). */
  private controlString(index: number): number {
    const { text } = this;
    for (let next = index; next < text.length; next++) {
      const code = text.charCodeAt(next);
      if (code === BEL || code === C1_ST) return next + 1;
      if (code === ESC) return text.charCodeAt(next + 1) === 0x5c ? next + 2 : next; // another ESC ends it too
    }
    return text.length; // never terminated: the rest of the line belongs to it
  }
}

function isParameter(code: number): boolean {
  return code >= 0x30 && code <= 0x3f;
}

function isIntermediate(code: number): boolean {
  return code >= 0x20 && code <= 0x2f;
}

/** A log line as styled segments, starting with the style the previous line ended with. */
export function parseAnsi(text: string, start: AnsiStyle = PLAIN): AnsiLine {
  if (!SPECIAL.test(text)) return { segments: text === "" ? [] : [{ text, style: start }], end: start };
  return new Reader(text, start, true).read();
}

/**
 * The style in force after `text`, cheaper than `parseAnsi` (no segments are built).
 * Returns `start` itself when the line changes nothing.
 */
export function ansiEndStyle(text: string, start: AnsiStyle = PLAIN): AnsiStyle {
  if (!SPECIAL.test(text)) return start;
  return new Reader(text, start, false).read().end;
}

/** The visible text of a line, without any escape sequence. */
export function stripAnsi(text: string): string {
  return parseAnsi(text).segments.map((segment) => segment.text).join("");
}
