// WCAG 2 contrast between two colours, and the two palettes of styles.css (light, and the
// prefers-color-scheme dark overrides) read from its text, so a test can hold every pair of
// text on background of both themes to a minimum ratio. Pure: no DOM, no CSS engine; it
// understands the colour forms styles.css uses (#rgb, #rrggbb, rgb()/rgba()).

export interface Rgba {
  readonly r: number;
  readonly g: number;
  readonly b: number;
  readonly a: number;
}

/** A palette: custom property name (with its `--`) to its value, as written. */
export type Palette = Readonly<Record<string, string>>;

const HEX = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;
const RGB = /^rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)$/i;

/** The colour a CSS value names, or undefined for anything else (a keyword, a var()). */
export function parseColour(value: string): Rgba | undefined {
  const text = value.trim();
  const hex = HEX.exec(text)?.[1];
  if (hex !== undefined) {
    const full = hex.length === 3 ? [...hex].map((c) => c + c).join("") : hex;
    return { r: parseInt(full.slice(0, 2), 16), g: parseInt(full.slice(2, 4), 16), b: parseInt(full.slice(4, 6), 16), a: 1 };
  }
  const rgb = RGB.exec(text);
  if (rgb === null) return undefined;
  return { r: Number(rgb[1]), g: Number(rgb[2]), b: Number(rgb[3]), a: rgb[4] === undefined ? 1 : Number(rgb[4]) };
}

/** `top` painted over an opaque `under`: what the eye sees of a translucent colour. */
export function over(top: Rgba, under: Rgba): Rgba {
  const mix = (t: number, u: number): number => t * top.a + u * (1 - top.a);
  return { r: mix(top.r, under.r), g: mix(top.g, under.g), b: mix(top.b, under.b), a: 1 };
}

function channel(value: number): number {
  const c = value / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** WCAG relative luminance, 0 (black) to 1 (white). */
export function luminance(colour: Rgba): number {
  return 0.2126 * channel(colour.r) + 0.7152 * channel(colour.g) + 0.0722 * channel(colour.b);
}

/** WCAG contrast ratio of two opaque colours, 1 to 21, whichever is lighter. */
export function contrastRatio(a: Rgba, b: Rgba): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

function declarations(block: string): Record<string, string> {
  const found: Record<string, string> = {};
  const text = block.replace(/\/\*[\s\S]*?\*\//g, "");
  for (const match of text.matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)) {
    const [, name, value] = match;
    if (name !== undefined && value !== undefined) found[name] = value.trim();
  }
  return found;
}

/** The body of the first `{ ... }` opened at or after `from` (no nested braces inside). */
function blockAfter(css: string, from: number): string | undefined {
  const open = css.indexOf("{", from);
  const close = css.indexOf("}", open);
  return open < 0 || close < 0 ? undefined : css.slice(open + 1, close);
}

/**
 * The light palette (the first `:root` block) and the dark one: the light palette with the
 * overrides of the `:root` inside `@media (prefers-color-scheme: dark)`, as the browser
 * resolves them.
 */
export function palettes(css: string): { light: Palette; dark: Palette } {
  const lightBlock = blockAfter(css, css.indexOf(":root"));
  const media = css.search(/@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)/);
  const darkBlock = media < 0 ? undefined : blockAfter(css, css.indexOf(":root", media));
  if (lightBlock === undefined || darkBlock === undefined) throw new Error("styles.css has no light and dark :root palettes");
  const light = declarations(lightBlock);
  return { light, dark: { ...light, ...declarations(darkBlock) } };
}

/** The colour a palette gives a variable; throws when it is missing or not a colour. */
export function colourOf(palette: Palette, name: string): Rgba {
  const value = palette[name];
  const colour = value === undefined ? undefined : parseColour(value);
  if (colour === undefined) throw new Error(`${name} is not a colour in this palette: ${String(value)}`);
  return colour;
}
