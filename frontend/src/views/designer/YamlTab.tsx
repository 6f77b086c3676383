// The YAML tab: the definition as text in a code editor (yamlEditor.ts, loaded on the tab's
// first visit), every keystroke that gives a workflow applied to the drawing at once (Save
// and Check send what was typed), the problems of the last Check and the text's own
// errors marked on their lines and listed under the editor, each a link to its line.
//
// Decisions: a text that does not read, or is not shaped like a workflow (yamlCanvas.ts),
// is not applied: the drawing stays as the last text that was, the status says why with
// the line, and `onHold` tells the designer, which keeps the user on this tab (and refuses
// to save the older drawing) until the text is fixed; the text itself stays as typed. The
// problems of a Check are placed by their paths in the present text, so they follow their
// node as the text is edited. The side panel is closed to edits while the text is held (the
// designer disables it), so that fixing the text cannot overwrite them.
import { useEffect, useMemo, useRef, useState } from "react";
import type { Problem, WorkflowDefinition } from "../../api/types";
import { workflowToYaml } from "../../graph";
import { readYaml, type ReadYaml } from "../../graph/yaml";
import { canvasFromRead, describeYamlError, type CanvasReading } from "../../graph/yamlCanvas";
import { marksOfRead, type YamlMark } from "../../graph/yamlLines";
import type { YamlEditor } from "./yamlEditor";
import "./YamlTab.css";

let loading: Promise<typeof import("./yamlEditor")> | undefined;
const loadEditor = () => (loading ??= import("./yamlEditor"));

interface YamlTabProps {
  workflow: WorkflowDefinition;
  problems: readonly Problem[];
  onChange: (next: WorkflowDefinition) => void;
  /** Why the text cannot go to the canvas (undefined once it can). */
  onHold: (reason: string | undefined) => void;
}

// The text read once per keystroke (a large workflow's YAML takes a while to read).
interface Reading {
  read: ReadYaml;
  canvas: CanvasReading;
}

const readingOf = (text: string): Reading => {
  const read = readYaml(text);
  return { read, canvas: canvasFromRead(read) };
};

export function YamlTab({ workflow, problems, onChange, onHold }: YamlTabProps) {
  const [initial] = useState(() => workflowToYaml(workflow));
  const [{ read, canvas: reading }, setReading] = useState(() => readingOf(initial));
  const text = read.text;
  const [editor, setEditor] = useState<YamlEditor>();
  const [loadError, setLoadError] = useState<string>();
  const host = useRef<HTMLDivElement>(null);
  const latest = useRef({ onChange, onHold });
  useEffect(() => {
    latest.current = { onChange, onHold };
  });

  const marks = useMemo(() => {
    const found = marksOfRead(read, problems);
    if ("error" in reading && reading.kind === "shape" && reading.from !== undefined && reading.to !== undefined) {
      const line = reading.line ?? 1;
      found.push({ line, from: reading.from, to: reading.to, exact: true, message: reading.error, source: "shape" });
      found.sort((a, b) => a.from - b.from);
    }
    return found;
  }, [read, problems, reading]);

  useEffect(() => {
    let alive = true;
    let made: YamlEditor | undefined;
    const typed = (next: string) => {
      const now = readingOf(next);
      setReading(now);
      if ("workflow" in now.canvas) latest.current.onChange(now.canvas.workflow); // in the keystroke itself: Save sees it
      latest.current.onHold("error" in now.canvas ? describeYamlError(now.canvas) : undefined);
    };
    loadEditor().then(
      ({ createYamlEditor }) => {
        if (!alive || !host.current) return;
        made = createYamlEditor(host.current, { text: initial, label: "Workflow YAML", onText: typed });
        setEditor(made);
      },
      (error: unknown) => alive && setLoadError(error instanceof Error ? error.message : String(error)),
    );
    return () => {
      alive = false;
      made?.destroy();
      latest.current.onHold(undefined); // the text goes with the tab
    };
  }, [initial]);

  useEffect(() => {
    editor?.showMarks(text, marks);
  }, [editor, text, marks]);

  // An edit made outside the text (the side panel, + Stage) shows in it while the text is in
  // step with the drawing; a text that is not (held) is the user's, and stays as typed.
  useEffect(() => {
    if (!editor || !("workflow" in reading)) return;
    if (JSON.stringify(reading.workflow) !== JSON.stringify(workflow)) editor.replaceText(workflowToYaml(workflow));
  }, [editor, reading, workflow]);

  const error = "error" in reading ? describeYamlError(reading) : undefined;
  return (
    <div className="yaml-tab" data-own-keys>
      <div className="yaml-editor-host" ref={host} data-testid="yaml-editor-host">
        {!editor && (
          <p className={loadError ? "yaml-loading field-error" : "yaml-loading muted"}>
            {loadError ? `The editor did not load: ${loadError}` : "Loading the editor…"}
          </p>
        )}
      </div>
      <div className={error ? "yaml-status field-error" : "yaml-status muted"} data-testid="yaml-status" role="status">
        {error ? `${error}. The canvas keeps the drawing from before; fix the text to go back to it.` : statusOf(marks)}
      </div>
      {marks.length > 0 && (
        <ul className="yaml-problems" data-testid="yaml-problems" aria-label="Problems in the YAML">
          {marks.map((mark, index) => (
            <li key={index} data-testid="yaml-problem" data-line={mark.line}>
              <button onClick={() => editor?.goToLine(mark.line)} title="Go to the line">
                line {mark.line}
              </button>
              {mark.path && <code>{mark.path}</code>}
              <span className="yaml-problem-message">{mark.message}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

function statusOf(marks: readonly YamlMark[]): string {
  const checked = marks.filter((mark) => mark.source === "check").length;
  if (checked === 0) return "In step with the drawing.";
  return `In step with the drawing. The last Check found ${checked === 1 ? "1 problem" : `${checked} problems`}, marked on ${checked === 1 ? "its line" : "their lines"}.`;
}
