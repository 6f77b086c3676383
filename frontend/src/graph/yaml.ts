// The definition as YAML text and back, read as the server reads it (readYaml is the one
// reading; yamlLines.ts and yamlCanvas.ts find positions and shapes in what it reads).
import { Document, LineCounter, Scalar, isMap, parseDocument, visit, type Tags } from "yaml";
import type { WorkflowDefinition } from "../api/types";

// The server reads definitions with a YAML 1.1 loader, so both directions use YAML 1.1:
// what the designer writes reads back the same there ("yes", "on", "1:30", "0755" and
// dates are quoted when they are text), and what the user types means the same here.

const STRING_TAG = "tag:yaml.org,2002:str";
const TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp";

/** Plain text the server's loader would not read as text: `=` is its "value" tag, `<<` a merge. */
function quoteLoaderWords(document: Document): void {
  visit(document, {
    Scalar(_, node) {
      if (node.value === "=" || node.value === "<<") {
        node.type = Scalar.QUOTE_DOUBLE;
        if (node.value === "<<") node.tag = STRING_TAG; // otherwise written as a merge key
      }
    },
  });
}

export function workflowToYaml(workflow: WorkflowDefinition): string {
  const document = new Document(workflow, { version: "1.1" });
  quoteLoaderWords(document);
  return document.toString({ lineWidth: 0 });
}

// A document is JSON-plain: a date stays the text the user wrote rather than a Date object.
const withoutTimestamps = (tags: Tags) =>
  tags.filter((tag) => (typeof tag === "string" ? tag !== "timestamp" : tag.tag !== TIMESTAMP_TAG));

/** A text read as the designer reads definitions, with the line counter its positions need. */
export interface ReadYaml {
  text: string;
  document: Document.Parsed;
  lines: LineCounter;
}

export function readYaml(text: string): ReadYaml {
  const lines = new LineCounter();
  const document = parseDocument(text, {
    version: "1.1",
    merge: true,
    uniqueKeys: true,
    prettyErrors: false,
    lineCounter: lines,
    customTags: withoutTimestamps,
  });
  return { text, document, lines };
}

/** The mapping a YAML (or JSON) text holds; the schema itself is the server's to check. */
export function yamlToWorkflow(text: string): { workflow: WorkflowDefinition } | { error: string; line?: number } {
  return workflowOfYaml(readYaml(text));
}

/** yamlToWorkflow, on a text already read. */
export function workflowOfYaml({ document, lines }: ReadYaml): { workflow: WorkflowDefinition } | { error: string; line?: number } {
  const [error] = document.errors;
  if (error) return { error: error.message, line: lines.linePos(error.pos[0]).line };
  if (!isMap(document.contents)) {
    const start = document.contents?.range?.[0];
    const message = "a definition must be a mapping of fields";
    return start === undefined ? { error: message } : { error: message, line: lines.linePos(start).line };
  }
  try {
    return { workflow: document.toJS({ maxAliasCount: 100 }) as WorkflowDefinition };
  } catch (problem) {
    return { error: problem instanceof Error ? problem.message : String(problem) };
  }
}
