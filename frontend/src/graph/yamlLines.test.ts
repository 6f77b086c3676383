import { describe, expect, it } from "vitest";
import { ciWorkflow } from "./fixtures";
import { readYaml, workflowToYaml } from "./yaml";
import { placeOfPath, yamlMarks } from "./yamlLines";

const TEXT = workflowToYaml(ciWorkflow());
const LINES = TEXT.split("\n");

/** The 1-based number of the first line with `content` at or after line `after`. */
function lineOf(content: string, after = 1): number {
  const index = LINES.findIndex((line, at) => at + 1 >= after && line.includes(content));
  if (index === -1) throw new Error(`no line holds ${content}`);
  return index + 1;
}

const at = (path: string, text = TEXT) => placeOfPath(readYaml(text), path);

describe("placeOfPath", () => {
  it("finds a job's field on its line, the key underlined to the end of the line", () => {
    const place = at("spec.stages[1].actions[1].jobs[0].data.repo");
    expect(place).toMatchObject({ line: lineOf("repo: ${{ jobs.clone"), exact: true });
    expect(TEXT.slice(place.from, place.to)).toBe("repo: ${{ jobs.clone.outputs.COMMIT }}");
  });

  it("finds a list entry on the line of its first field", () => {
    expect(at("spec.stages[2]")).toMatchObject({ line: lineOf("- name: release"), exact: true });
    const deploy = at("spec.stages[2].actions[0].jobs[1]");
    expect(TEXT.slice(deploy.from, deploy.to)).toBe("name: deploy");
    expect(at("spec.stages[0].actions[0].jobs[1].command[2]")).toMatchObject({ line: lineOf("- echo '[COUT]"), exact: true });
  });

  it("tells fields apart that have the same name in different places", () => {
    expect(at("spec.stages[1].actions[0].jobs[0].data.path").line).toBe(lineOf("path: /workspace/src"));
    expect(at("spec.stages[2].actions[0].jobs[0].data.path").line).toBe(lineOf("path: /workspace/src", lineOf("- name: release")));
    expect(at("metadata.name").line).toBe(lineOf("name: ci"));
  });

  it("marks the mapping that lacks a missing field, and says the place is not exact", () => {
    // The server reports a missing field at the mapping that should hold it.
    expect(at("spec.stages[1].actions[0].jobs[0].image")).toMatchObject({ line: lineOf("- name: lint", lineOf("jobs:", lineOf("- name: lint"))), exact: false });
    expect(at("spec.stages[1].actions[0].jobs[0]")).toMatchObject({ exact: true });
  });

  it("falls back to the list when an index is past its end", () => {
    expect(at("spec.stages[9].name")).toMatchObject({ line: lineOf("stages:"), exact: false });
  });

  it("puts the document's own problems on its first line", () => {
    expect(at("")).toMatchObject({ line: 1, from: 0, exact: true });
    expect(at("", "# a comment\nkind: Workflow\n")).toMatchObject({ line: 2 });
    expect(at("spec", "")).toMatchObject({ line: 1, from: 0, to: 0, exact: false });
  });

  it("matches a whole key, one holding a dot too, and flow and quoted writing", () => {
    const text = 'spec:\n  env:\n    a: 1\n    a.b: 2\n  "quoted key": {inner: [x, y]}\n';
    expect(at("spec.env.a.b", text)).toMatchObject({ line: 4, exact: true });
    expect(at("spec.env.a", text)).toMatchObject({ line: 3, exact: true });
    expect(at("spec.env.ab", text)).toMatchObject({ line: 2, exact: false });
    const inner = at("spec.quoted key.inner[1]", text);
    expect(inner).toMatchObject({ line: 5, exact: true });
    expect(text.slice(inner.from, inner.from + 1)).toBe("y");
  });

  it("stops at an alias, where the user wrote it", () => {
    const text = "base: &base\n  image: alpine\njob: *base\n";
    expect(at("job.image", text)).toMatchObject({ line: 3, exact: false });
  });
});

describe("yamlMarks", () => {
  it("marks each problem of a check where its path is written, in the order of the text", () => {
    const marks = yamlMarks(TEXT, [
      { path: "spec.stages[2].actions[0].jobs[1].data.artifact", message: "unknown output" },
      { path: "metadata.name", message: "taken" },
    ]);
    expect(marks.map((mark) => [mark.line, mark.message, mark.source, mark.path])).toEqual([
      [lineOf("name: ci"), "taken", "check", "metadata.name"],
      [lineOf("artifact: ${{"), "unknown output", "check", "spec.stages[2].actions[0].jobs[1].data.artifact"],
    ]);
  });

  it("marks a syntax error on its line, within the line", () => {
    const text = "kind: Workflow\nmetadata:\n  name: [w\nspec: {}\n";
    const [mark, ...others] = yamlMarks(text, []);
    expect(others).toEqual([]);
    expect(mark).toMatchObject({ source: "syntax" });
    expect(mark?.line).toBeGreaterThanOrEqual(3);
    expect(mark && mark.to >= mark.from && mark.to <= text.length).toBe(true);
  });

  it("marks a key given twice on the second one", () => {
    const [mark] = yamlMarks("kind: Workflow\nmetadata: {}\nkind: Component\n", []);
    expect(mark).toMatchObject({ line: 3, source: "syntax", message: "Map keys must be unique" });
  });

  it("has nothing to mark in a clean text without problems", () => {
    expect(yamlMarks(TEXT, [])).toEqual([]);
  });
});
