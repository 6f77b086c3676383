import { describe, expect, it } from "vitest";
import { conditionReferences, jobOutputExpression, templateBlocks } from "./expressions";

const referencesIn = (text: string) =>
  templateBlocks(text)?.map((block) => block.references.map((reference) => reference.parts.map((part) => part.value)));

describe("templates, parsed as the server parses them", () => {
  it("find each block and the references in it, wherever they sit in the text", () => {
    expect(referencesIn("v${{ jobs.a.outputs.X }}-${{ params.p || run.id }}")).toEqual([
      [["jobs", "a", "outputs", "X"]],
      [["params", "p"], ["run", "id"]],
    ]);
  });

  it("read names with dashes, digits after a dot and keys in brackets", () => {
    expect(referencesIn("${{ jobs.a-b.outputs.X-Y }} ${{ jobs.1.outputs['K 2'] }}")).toEqual([
      [["jobs", "a-b", "outputs", "X-Y"]],
      [["jobs", "1", "outputs", "K 2"]],
    ]);
  });

  it("do not end a block at braces inside a quoted string", () => {
    expect(referencesIn("${{ a == '}}' }}")).toEqual([[["a"]]]);
  });

  it("give nothing for what the server refuses to parse", () => {
    for (const text of ["${{ a", "${{ }}", "${{ a == }}", "${{ a # }}", "${{ jobs.1a.outputs.X }}", "${{ a[1] }}"]) {
      expect(templateBlocks(text)).toBeUndefined();
    }
  });

  it("give no blocks for plain text", () => {
    expect(templateBlocks("plain text")).toEqual([]);
  });

  it("read a condition bare or wrapped", () => {
    const parts = (text: string) => conditionReferences(text)?.map((reference) => reference.parts.map((part) => part.value));
    expect(parts("jobs.a.outputs.X == 'y'")).toEqual([["jobs", "a", "outputs", "X"]]);
    expect(parts("  ${{ !jobs.a.outputs.X }} ")).toEqual([["jobs", "a", "outputs", "X"]]);
    expect(parts("${{ a }} && ${{ b }}")).toBeUndefined();
  });

  it("write a job-output reference the tokenizer reads back, whatever the job's name", () => {
    expect(jobOutputExpression("build", "IMAGE")).toBe("${{ jobs.build.outputs.IMAGE }}");
    expect(jobOutputExpression("7up", "IMAGE")).toBe("${{ jobs['7up'].outputs.IMAGE }}");
    expect(referencesIn(jobOutputExpression("7up", "1st"))).toEqual([[["jobs", "7up", "outputs", "1st"]]]);
  });
});
