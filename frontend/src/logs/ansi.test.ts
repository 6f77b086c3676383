import { describe, expect, it } from "vitest";
import { ansiEndStyle, color256, parseAnsi, PLAIN, stripAnsi, type AnsiSegment } from "./ansi";

const ESC = "\u001b";
const RED = color256(1);
const GREEN = color256(2);
const BRIGHT_RED = color256(9);
const BLUE = color256(4);

/** The segments as [text, style] pairs, easier to read in expectations. */
function pairs(segments: AnsiSegment[]) {
  return segments.map((segment) => [segment.text, segment.style]);
}

function visible(text: string): string {
  return parseAnsi(text)
    .segments.map((segment) => segment.text)
    .join("");
}

describe("ANSI parsing", () => {
  it("leaves a line without escapes as one plain segment", () => {
    expect(pairs(parseAnsi("hello world").segments)).toEqual([["hello world", PLAIN]]);
  });

  it("gives no segment for an empty line", () => {
    expect(parseAnsi("").segments).toEqual([]);
  });

  it("colours the text after a foreground code and stops at a reset", () => {
    expect(pairs(parseAnsi(`a ${ESC}[31mred${ESC}[0m b`).segments)).toEqual([
      ["a ", {}],
      ["red", { color: RED }],
      [" b", {}],
    ]);
  });

  it("treats an empty parameter list as a reset", () => {
    expect(pairs(parseAnsi(`${ESC}[1mbold${ESC}[m plain`).segments)).toEqual([
      ["bold", { bold: true }],
      [" plain", {}],
    ]);
  });

  it("reads bold, dim, italic and underline, and turns each off with 22, 23 and 24", () => {
    const line = `${ESC}[1;3;4mx${ESC}[22my${ESC}[2mz${ESC}[22;23;24mw`;
    expect(pairs(parseAnsi(line).segments)).toEqual([
      ["x", { bold: true, italic: true, underline: true }],
      ["y", { italic: true, underline: true }],
      ["z", { dim: true, italic: true, underline: true }],
      ["w", {}],
    ]);
  });

  it("reads foreground and background colours, normal and bright, and their defaults 39 and 49", () => {
    const line = `${ESC}[32;44mx${ESC}[91;102my${ESC}[39mz${ESC}[49mw`;
    expect(pairs(parseAnsi(line).segments)).toEqual([
      ["x", { color: GREEN, background: BLUE }],
      ["y", { color: BRIGHT_RED, background: color256(10) }],
      ["z", { background: color256(10) }],
      ["w", {}],
    ]);
  });

  it("maps the sixteen basic colours onto the first sixteen of the 256-colour table", () => {
    for (let index = 0; index < 8; index++) {
      expect(parseAnsi(`${ESC}[${30 + index}mx`).segments[0]?.style.color).toBe(color256(index));
      expect(parseAnsi(`${ESC}[${40 + index}mx`).segments[0]?.style.background).toBe(color256(index));
      expect(parseAnsi(`${ESC}[${90 + index}mx`).segments[0]?.style.color).toBe(color256(index + 8));
      expect(parseAnsi(`${ESC}[${100 + index}mx`).segments[0]?.style.background).toBe(color256(index + 8));
    }
  });

  it("reads 256-colour codes: the cube and the grey ramp", () => {
    expect(parseAnsi(`${ESC}[38;5;196mx`).segments[0]?.style).toEqual({ color: "rgb(255, 0, 0)" });
    expect(parseAnsi(`${ESC}[48;5;21mx`).segments[0]?.style).toEqual({ background: "rgb(0, 0, 255)" });
    expect(parseAnsi(`${ESC}[38;5;16mx`).segments[0]?.style).toEqual({ color: "rgb(0, 0, 0)" });
    expect(parseAnsi(`${ESC}[38;5;232mx`).segments[0]?.style).toEqual({ color: "rgb(8, 8, 8)" });
    expect(parseAnsi(`${ESC}[38;5;255mx`).segments[0]?.style).toEqual({ color: "rgb(238, 238, 238)" });
    expect(parseAnsi(`${ESC}[38;5;1mx`).segments[0]?.style).toEqual({ color: RED });
  });

  it("reads truecolour codes for foreground and background", () => {
    expect(parseAnsi(`${ESC}[38;2;12;34;56;48;2;200;100;0mx`).segments[0]?.style).toEqual({
      color: "rgb(12, 34, 56)",
      background: "rgb(200, 100, 0)",
    });
  });

  it("reads the colon form of extended colours, with or without a colour space", () => {
    expect(parseAnsi(`${ESC}[38:2::1:2:3mx`).segments[0]?.style).toEqual({ color: "rgb(1, 2, 3)" });
    expect(parseAnsi(`${ESC}[48:2:4:5:6mx`).segments[0]?.style).toEqual({ background: "rgb(4, 5, 6)" });
    expect(parseAnsi(`${ESC}[38:5:196mx`).segments[0]?.style).toEqual({ color: "rgb(255, 0, 0)" });
  });

  it("keeps the codes after an extended colour in the same sequence", () => {
    expect(parseAnsi(`${ESC}[38;5;196;1mx`).segments[0]?.style).toEqual({ color: "rgb(255, 0, 0)", bold: true });
    expect(parseAnsi(`${ESC}[38;2;1;2;3;4mx`).segments[0]?.style).toEqual({ color: "rgb(1, 2, 3)", underline: true });
  });

  it("ignores out-of-range or incomplete extended colours and keeps the current colour", () => {
    for (const codes of ["38;5;256", "38;5", "38;2;256;0;0", "38;2;1;2", "38;9;1", "38", "38;5;99999999999999999999"]) {
      const { segments } = parseAnsi(`${ESC}[31m${ESC}[${codes}mx`);
      expect(segments).toEqual([{ text: "x", style: { color: RED } }]);
    }
  });

  it("never puts anything but palette values and checked numbers into a colour", () => {
    const line = `${ESC}[38;2;1;2;3);background:url(x)m${ESC}[38;5;-1mx`;
    for (const segment of parseAnsi(line).segments) {
      for (const value of [segment.style.color, segment.style.background]) {
        if (value !== undefined) expect(value).toMatch(/^(#[0-9a-f]{6}|rgb\(\d{1,3}, \d{1,3}, \d{1,3}\))$/);
      }
    }
  });

  it("ignores SGR codes it does not support, such as blink and inverse", () => {
    expect(pairs(parseAnsi(`${ESC}[5;7;9mx`).segments)).toEqual([["x", {}]]);
  });

  it("merges neighbouring text of the same style into one segment", () => {
    expect(pairs(parseAnsi(`${ESC}[31ma${ESC}[31mb${ESC}[1m${ESC}[22mc`).segments)).toEqual([["abc", { color: RED }]]);
  });

  it("carries a style over from the end of one line to the next", () => {
    const first = parseAnsi(`plain ${ESC}[1;32mstill open`);
    expect(first.end).toEqual({ bold: true, color: GREEN });
    const second = parseAnsi(`next line${ESC}[0m done`, first.end);
    expect(pairs(second.segments)).toEqual([
      ["next line", { bold: true, color: GREEN }],
      [" done", {}],
    ]);
    expect(second.end).toBe(PLAIN);
  });

  it("works out the ending style without building segments, returning the same style when nothing changes", () => {
    const start = parseAnsi(`${ESC}[33m`).end;
    expect(ansiEndStyle("no escapes here", start)).toBe(start);
    expect(ansiEndStyle(`${ESC}[33mstill yellow`, start)).toBe(start);
    expect(ansiEndStyle(`${ESC}[1mbold too`, start)).toEqual({ color: color256(3), bold: true });
    expect(ansiEndStyle(`${ESC}[0m`, start)).toBe(PLAIN);
  });

  it("strips escape sequences that are not SGR: cursor moves, erasing, private modes", () => {
    expect(visible(`${ESC}[2K${ESC}[1Gdownloading${ESC}[3A${ESC}[?25l 50%${ESC}[?25h`)).toBe("downloading 50%");
  });

  it("strips OSC sequences such as window titles and hyperlinks, ended by BEL or ST", () => {
    expect(visible(`${ESC}]0;my title\u0007build ${ESC}]8;;https://example.test${ESC}\\link${ESC}]8;;${ESC}\\ ok`)).toBe(
      "build link ok",
    );
  });

  it("strips DCS and APC strings, single-character escapes and charset switches", () => {
    expect(visible(`a${ESC}Pq#0;1;2${ESC}\\b${ESC}_app${ESC}\\c${ESC}7${ESC}8${ESC}(Bd${ESC}=e`)).toBe("abcde");
  });

  it("strips the 8-bit forms of CSI and OSC", () => {
    expect(visible(`\u009b31mred\u009b0m \u009d0;title\u0007ok`)).toBe("red ok");
    expect(parseAnsi(`\u009b31mred`).segments[0]?.style).toEqual({ color: RED });
  });

  it("drops control characters other than tab", () => {
    expect(visible("a\u0007b\u0008c\td\u0000e\u007ff\u0085g")).toBe("abc\tdefg");
  });

  it("lets a carriage return start the line again, as a progress bar does", () => {
    expect(visible("10%\r50%\r100%")).toBe("100%");
    expect(visible("done\r")).toBe("done");
    expect(parseAnsi(`${ESC}[32m10%\r100%`).segments).toEqual([{ text: "100%", style: { color: GREEN } }]);
  });

  it("keeps HTML as text: the parser only deals in characters", () => {
    const line = `${ESC}[31m<img src=x onerror=alert(1)>${ESC}[0m`;
    expect(visible(line)).toBe("<img src=x onerror=alert(1)>");
  });

  it("keeps non-ASCII text intact", () => {
    expect(visible(`${ESC}[1mgrüße ✓ 日本 🚀`)).toBe("grüße ✓ 日本 🚀");
  });

  it("never crashes on malformed sequences and never lets a raw ESC through", () => {
    const malformed = [
      ESC,
      `text${ESC}`,
      `${ESC}[`,
      `${ESC}[31`,
      `${ESC}[31;`,
      `${ESC}[31;1;`,
      `${ESC}[38;5;`,
      `${ESC}[38;2;1;2;`,
      `${ESC}[;;;m`,
      `${ESC}[::m`,
      `${ESC}[38::::::::mx`,
      `${ESC}[31\u0000m`,
      `${ESC}[31é after`,
      `${ESC}[31${ESC}[32mgreen`,
      `${ESC}]0;never ended`,
      `${ESC}]0;ended by another ${ESC}[1mescape`,
      `${ESC}(`,
      `${ESC} `,
      `${ESC}${ESC}${ESC}[1m`,
      `${ESC}[${"9".repeat(500)}m`,
      `${ESC}[${"1;".repeat(10_000)}mmany`,
      `\u009b`,
      `\u009b31`,
      `${ESC}[\u009b31m`,
    ];
    for (const line of malformed) {
      const parsed = parseAnsi(line);
      for (const segment of parsed.segments) {
        expect(segment.text).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/);
        expect(segment.text).not.toBe("");
      }
    }
    expect(visible(`${ESC}[31é after`)).toBe("é after");
    expect(visible(`${ESC}[31${ESC}[32mgreen`)).toBe("green");
    expect(visible(`${ESC}]0;ended by another ${ESC}[1mescape`)).toBe("escape");
  });

  it("never crashes nor leaks a control character on random input", () => {
    let seed = 42;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const alphabet = `${ESC}${ESC}${ESC}[[[]];;;::0123456789mmmHJK?P\\\u0007\u009b\u009c\u009d\r\n\tab<>&`;
    let style = PLAIN;
    for (let round = 0; round < 2000; round++) {
      let line = "";
      const length = next() % 40;
      for (let index = 0; index < length; index++) line += alphabet[next() % alphabet.length];
      const parsed = parseAnsi(line, style);
      for (const segment of parsed.segments) {
        expect(segment.text).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/);
      }
      expect(ansiEndStyle(line, style)).toEqual(parsed.end);
      style = parsed.end;
    }
  });

  it("gives the visible text alone with stripAnsi", () => {
    expect(stripAnsi(`${ESC}[1;31merror:${ESC}[0m file not found${ESC}[K`)).toBe("error: file not found");
  });

  it("answers no colour for an index outside the 256-colour table", () => {
    expect(color256(-1)).toBeUndefined();
    expect(color256(256)).toBeUndefined();
    expect(color256(1.5)).toBeUndefined();
  });
});
