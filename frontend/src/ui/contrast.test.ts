import { describe, expect, it } from "vitest";
import css from "../styles.css?raw";
import { parseAnsi } from "../logs/ansi";
import { colourOf, contrastRatio, over, palettes, parseColour, type Palette } from "./contrast";

const AA = 4.5;

// Every pair of text colour on the background it is drawn on, by where the app draws it.
const TEXT_ON_BACKGROUND: readonly (readonly [string, string, string])[] = [
  ["page text", "--text", "--bg"],
  ["text in a panel, card, input or button", "--text", "--surface"],
  ["text on a subtle fill (hover, table head, palette item)", "--text", "--surface-2"],
  ["a neutral status badge", "--text", "--surface-3"],
  ["secondary text in a panel", "--text-2", "--surface"],
  ["a registry table head", "--text-2", "--surface-2"],
  ["a platform tag", "--text-2", "--surface-3"],
  ["muted text on the page", "--muted", "--bg"],
  ["muted text in a panel", "--muted", "--surface"],
  ["a queued or pending badge", "--muted", "--surface-2"],
  ["a tag", "--muted", "--surface-3"],
  ["a link on the page", "--accent", "--bg"],
  ["a link in a panel", "--accent", "--surface"],
  ["a primary button", "--on-accent", "--accent"],
  ["a problem badge", "--on-accent", "--bad"],
  ["a danger button, a field error", "--bad", "--surface"],
  ["a YAML string in the editor", "--ok", "--surface"],
  ["a YAML tag in the editor", "--warn", "--surface"],
  ["a succeeded badge", "--ok", "--ok-bg"],
  ["a failed badge, an error notice", "--bad", "--bad-bg"],
  ["a cancelled or skipped badge, a deprecated tag", "--warn", "--warn-bg"],
  ["a running badge, a linked port value", "--info", "--info-bg"],
  ["the registry button under the pointer", "--accent", "--surface-2"],
  ["a succeeded job node", "--text", "--ok-bg"],
  ["an error note, a failed job node", "--text", "--bad-bg"],
  ["a skipped job node, the token prompt", "--text", "--warn-bg"],
  ["an info notice", "--text", "--info-bg"],
  ["port names on a succeeded job node", "--text-2", "--ok-bg"],
  ["port names on a failed job node", "--text-2", "--bad-bg"],
  ["port names on a skipped job node", "--text-2", "--warn-bg"],
  ["the chosen tab, a link chip, the current namespace", "--selection-text", "--selection-bg"],
  ["a param port value", "--param", "--param-bg"],
  ["an expression port value", "--expr", "--expr-bg"],
  ["the start and end nodes", "--surface", "--text"],
  ["the brand in the top bar", "--top-text", "--top-bg"],
  ["a link in the top bar", "--top-link", "--top-bg"],
  ["a link or a tag on a subtle fill", "--accent", "--surface-2"],
  ["log text", "--log-text", "--log-bg"],
  ["the log toolbar and status", "--log-muted", "--log-bg"],
  ["the end-of-log line", "--log-soft", "--log-bg"],
  ["line numbers and times", "--log-dim", "--log-bg"],
  ["line numbers of the line under the pointer", "--log-dim", "--log-hover"],
  ["line numbers of an output line", "--log-dim", "--log-cout-bg"],
  ["line numbers of an output line under the pointer", "--log-dim", "--log-cout-hover"],
  ["line numbers of the line a link names", "--log-dim", "--log-target-bg"],
  ["log text under the pointer", "--log-text", "--log-hover"],
  ["an output line under the pointer", "--log-cout-text", "--log-cout-hover"],
  ["retrying, dropped", "--log-warn", "--log-bg"],
  ["the stderr marker", "--log-bad", "--log-bg"],
  ["stderr text", "--log-bad-text", "--log-bg"],
  ["an output line", "--log-cout-text", "--log-cout-bg"],
  ["a log button", "--log-text", "--log-raised"],
  ["the log search box", "--log-text", "--log-input-bg"],
  ["a search match", "--log-text", "--log-match-bg"],
  ["the current search match", "--log-bg", "--log-warn"],
  ["the line a link names", "--log-text", "--log-target-bg"],
];

const { light, dark } = palettes(css);
const themes: readonly (readonly [string, Palette])[] = [
  ["light", light],
  ["dark", dark],
];

describe("contrast ratio", () => {
  it("is 21 for black on white and 1 for a colour on itself, in either order", () => {
    const black = parseColour("#000")!;
    const white = parseColour("#ffffff")!;
    expect(contrastRatio(black, white)).toBeCloseTo(21, 5);
    expect(contrastRatio(white, black)).toBeCloseTo(21, 5);
    expect(contrastRatio(white, white)).toBe(1);
  });

  it("matches the WCAG figure for a known pair", () => {
    // #767676 on white is the classic just-passing grey: 4.54:1.
    expect(contrastRatio(parseColour("#767676")!, parseColour("#fff")!)).toBeCloseTo(4.54, 2);
  });

  it("reads hex and rgb()/rgba() colours, and nothing else", () => {
    expect(parseColour("#1f2933")).toEqual({ r: 31, g: 41, b: 51, a: 1 });
    expect(parseColour("rgba(15, 23, 42, 0.4)")).toEqual({ r: 15, g: 23, b: 42, a: 0.4 });
    expect(parseColour("rgb(1,2,3)")).toEqual({ r: 1, g: 2, b: 3, a: 1 });
    expect(parseColour("var(--bg)")).toBeUndefined();
    expect(parseColour("white")).toBeUndefined();
  });

  it("sees a translucent colour as painted over what is under it", () => {
    const half = over(parseColour("rgba(255, 255, 255, 0.5)")!, parseColour("#000")!);
    expect(half).toEqual({ r: 127.5, g: 127.5, b: 127.5, a: 1 });
  });
});

describe("the palettes of styles.css", () => {
  it("has a dark palette that overrides every colour of the light one but the log panel's", () => {
    const themed = Object.keys(light).filter((name) => !name.startsWith("--log-"));
    expect(themed.length).toBeGreaterThan(20);
    for (const name of themed) expect(dark[name], name).not.toBe(light[name]);
    for (const name of Object.keys(light).filter((n) => n.startsWith("--log-"))) expect(dark[name]).toBe(light[name]);
  });

  it("keeps the page light in light and dark in dark", () => {
    expect(colourOf(light, "--bg").r).toBeGreaterThan(200);
    expect(colourOf(dark, "--bg").r).toBeLessThan(40);
    expect(contrastRatio(colourOf(dark, "--surface"), parseColour("#fff")!)).toBeGreaterThan(10);
  });

  for (const [theme, palette] of themes) {
    for (const [where, text, background] of TEXT_ON_BACKGROUND) {
      it(`gives ${where} a contrast of at least 4.5:1 in ${theme}`, () => {
        const ratio = contrastRatio(colourOf(palette, text), colourOf(palette, background));
        expect(ratio, `${text} on ${background}: ${ratio.toFixed(2)}`).toBeGreaterThanOrEqual(AA);
      });
    }

    it(`keeps text readable on a stage box over the canvas in ${theme}`, () => {
      const stage = over(colourOf(palette, "--group-bg"), colourOf(palette, "--bg"));
      expect(contrastRatio(colourOf(palette, "--text"), stage)).toBeGreaterThanOrEqual(AA);
      expect(contrastRatio(colourOf(palette, "--muted"), stage)).toBeGreaterThanOrEqual(AA);
    });
  }
});

describe("the ANSI colours of the log panel", () => {
  const logBackground = colourOf(light, "--log-bg");
  // SGR 30 is "black": dark on purpose, as in any terminal with a dark background.
  const codes = [31, 32, 33, 34, 35, 36, 37, 90, 91, 92, 93, 94, 95, 96, 97];
  for (const code of codes) {
    it(`read at 4.5:1 or more on the log background: SGR ${code}`, () => {
      const colour = parseAnsi(`\u001b[${code}mx`).segments[0]?.style.color;
      expect(colour).toBeDefined();
      expect(contrastRatio(parseColour(colour!)!, logBackground)).toBeGreaterThanOrEqual(AA);
    });
  }
});
