// What a job's input holds, told in a few characters for its box on the canvas: a value
// written as is, a param, another job's output, another expression, or the component's
// default when nothing is written. `${{ jobs.build.outputs.ARTIFACT }}` reads
// `build.ARTIFACT`, `${{ params.flavour }}` reads `params.flavour`; text around a block is
// kept and the block is shown in braces (`v{build.VERSION}-rc`). The box shows the short
// form; its tooltip the value as written.
import { templateBlocks, type ExpressionBlock, type Reference } from "./expressions";

export type PortValueKind = "literal" | "param" | "link" | "expression" | "default";

export interface PortValue {
  kind: PortValueKind;
  text: string; // the short form shown on the box
  written: string; // the value as the definition holds it (or the default)
}

function shortReference(reference: Reference): string {
  const names = reference.parts.map((part) => part.value);
  const [root, job, outputs, output] = names;
  if (names.length === 4 && root === "jobs" && outputs === "outputs") return `${job}.${output}`;
  return names.join(".");
}

/** The block as its one reference when that is all it holds, else its expression as written. */
function shortBlock(text: string, block: ExpressionBlock): string {
  const inner = text.slice(block.start + 3, block.end - 2).trim();
  const [only] = block.references;
  if (block.references.length === 1 && only) {
    const first = only.parts[0];
    const last = only.parts.at(-1);
    if (first && last && text.slice(first.start, last.end) === inner) return shortReference(only);
  }
  return inner;
}

const isJobOutput = (reference: Reference) =>
  reference.parts.length === 4 && reference.parts[0]?.value === "jobs" && reference.parts[2]?.value === "outputs";

function kindOf(blocks: ExpressionBlock[]): PortValueKind {
  const references = blocks.flatMap((block) => block.references);
  if (references.some(isJobOutput)) return "link";
  if (references.length > 0 && references.every((reference) => reference.parts[0]?.value === "params")) return "param";
  return "expression";
}

/** The written value of an input in its short form, or its default when nothing is written. */
export function describeValue(value: unknown, fallback?: unknown): PortValue | undefined {
  if (value === undefined || value === null || value === "") {
    if (fallback === undefined || fallback === null || fallback === "") return undefined;
    return { kind: "default", text: String(fallback), written: String(fallback) };
  }
  const written = typeof value === "string" ? value : JSON.stringify(value);
  if (typeof value !== "string" || !value.includes("${{")) return { kind: "literal", text: written, written };
  const blocks = templateBlocks(value);
  if (!blocks) return { kind: "expression", text: value, written }; // the server's check says what is wrong
  const whole = blocks.length === 1 && blocks[0]?.start === 0 && blocks[0].end === value.length;
  let text = "";
  let position = 0;
  for (const block of blocks) {
    const short = shortBlock(value, block);
    text += value.slice(position, block.start) + (whole ? short : `{${short}}`);
    position = block.end;
  }
  text += value.slice(position);
  return { kind: kindOf(blocks), text, written };
}
