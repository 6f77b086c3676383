import { describe, expect, it } from "vitest";
import type { ComponentDefinition, ComponentEntry } from "../../api/types";
import {
  buildDefinition,
  decodeDraft,
  emptyForm,
  emptyInput,
  emptyOutput,
  encodeDraft,
  fieldOfProblem,
  formFromDefinition,
  latestOfEach,
  newestFirst,
  placeProblems,
  searchComponents,
  shownVersion,
  suggestNextVersion,
  withoutProblemsIn,
  withoutProblemsOf,
  type PublishForm,
} from "./registryModel";

function entry(name: string, version: string, description = "", deprecated = false): ComponentEntry {
  return {
    namespace: "demo",
    name,
    version,
    deprecated,
    definition: {
      metadata: { namespace: "demo", name, version, description },
      spec: { image: `demo/${name}:${version}` },
    },
  };
}

function counter(): () => string {
  let next = 0;
  return () => `row-${++next}`;
}

const pytest: ComponentDefinition = {
  apiVersion: "containerops/v1",
  kind: "Component",
  metadata: { namespace: "demo", name: "python-pytest", version: "1.2.0", description: "Runs pytest" },
  spec: {
    image: "demo/python-pytest:1.2.0",
    command: ["pytest", "-q", "tests dir"],
    data_format: "json",
    inputs: [
      { name: "git-url", type: "string", required: true, description: "the repository" },
      { name: "workers", type: "number", required: false, default: 4 },
      { name: "verbose", type: "boolean", required: false, default: false },
    ],
    outputs: [{ name: "CO_XML_CONTENT", type: "string", description: "the JUnit report" }],
    resources: { cpu_request: 0.25, cpu_limit: 1, memory_request: "128Mi", memory_limit: "1Gi" },
    timeout: "10m",
    strict_result: true,
  },
};

function filled(overrides: Partial<PublishForm> = {}): PublishForm {
  return { ...emptyForm("demo"), name: "lint", version: "1.0.0", image: "demo/lint:1", ...overrides };
}

describe("the component list", () => {
  const entries = [
    entry("build", "1.0.0", "Builds a Go binary"),
    entry("lint", "1.2.0", "Checks style"),
    entry("lint", "1.10.0", "Checks style with flake8"),
    entry("scan", "0.9", "Finds vulnerable packages", true),
  ];

  it("shows the newest version of each component, in name order", () => {
    expect(latestOfEach(entries).map((e) => `${e.name}@${e.version}`)).toEqual(["build@1.0.0", "lint@1.10.0", "scan@0.9"]);
  });

  it("keeps a deprecated component, flagged, so it can be marked", () => {
    expect(latestOfEach(entries).find((e) => e.name === "scan")?.deprecated).toBe(true);
  });

  it("is filtered by words found in the name or the description, in any case", () => {
    const latest = latestOfEach(entries);
    expect(searchComponents(latest, "LINT").map((e) => e.name)).toEqual(["lint"]);
    expect(searchComponents(latest, "go binary").map((e) => e.name)).toEqual(["build"]);
    expect(searchComponents(latest, "packages scan").map((e) => e.name)).toEqual(["scan"]);
  });

  it("is shown whole when the search is empty or blank", () => {
    expect(searchComponents(entries, "   ")).toEqual(entries);
  });

  it("is empty when one word of the search matches nothing", () => {
    expect(searchComponents(entries, "lint rust")).toEqual([]);
  });

  it("does not search the image", () => {
    expect(searchComponents(entries, "demo/")).toEqual([]);
  });
});

describe("a component's page", () => {
  const versions = [entry("lint", "1.2.0"), entry("lint", "1.10.0")];

  it("shows the newest version when the address names none", () => {
    expect(shownVersion(versions)?.version).toBe("1.10.0");
  });

  it("shows the version the address names, and nothing for an unknown one", () => {
    expect(shownVersion(versions, "1.2.0")?.version).toBe("1.2.0");
    expect(shownVersion(versions, "9.9.9")).toBeUndefined();
  });

  it("lists its versions newest first without reordering the answer it was given", () => {
    expect(newestFirst(versions).map((e) => e.version)).toEqual(["1.10.0", "1.2.0"]);
    expect(versions.map((e) => e.version)).toEqual(["1.2.0", "1.10.0"]);
  });
});

describe("the suggested next version", () => {
  it("raises the last number", () => {
    expect(suggestNextVersion("1.2.0")).toBe("1.2.1");
    expect(suggestNextVersion("1.9.9")).toBe("1.9.10");
    expect(suggestNextVersion("0.9")).toBe("0.10");
    expect(suggestNextVersion("3")).toBe("4");
  });

  it("is the release after a pre-release, and ignores build metadata", () => {
    expect(suggestNextVersion("2.0.0-rc1")).toBe("2.0.0");
    expect(suggestNextVersion("2.0.0+build.7")).toBe("2.0.1");
  });

  it("is left to the user when the version is not numbered", () => {
    expect(suggestNextVersion("latest")).toBe("");
  });
});

describe("a form pre-filled from a published version", () => {
  it("gives back the same definition, under the suggested next version", () => {
    const form = formFromDefinition(pytest, counter());
    expect(form.version).toBe("1.2.1");
    const { definition, problems } = buildDefinition(form);
    expect(problems).toEqual([]);
    expect(definition).toEqual({ ...pytest, metadata: { ...pytest.metadata, version: "1.2.1" } });
  });

  it("writes the command one argument per line, spaces kept inside an argument", () => {
    expect(formFromDefinition(pytest, counter()).command).toBe("pytest\n-q\ntests dir");
  });

  it("gives every row its own key", () => {
    const form = formFromDefinition(pytest, counter());
    expect([...form.inputs, ...form.outputs].map((row) => row.key)).toEqual(["row-1", "row-2", "row-3", "row-4"]);
  });

  it("of a minimal definition has empty optional fields and the defaults", () => {
    const form = formFromDefinition({ metadata: { namespace: "demo", name: "x", version: "1" }, spec: { image: "x:1" } });
    expect(form).toMatchObject({ command: "", dataFormat: "pairs", inputs: [], outputs: [], cpuRequest: "", timeout: "", strictResult: false });
  });
});

describe("the definition a form describes", () => {
  it("leaves out every optional field left empty", () => {
    const { definition, problems } = buildDefinition(filled({ description: "  " }));
    expect(problems).toEqual([]);
    expect(definition).toEqual({
      apiVersion: "containerops/v1",
      kind: "Component",
      metadata: { namespace: "demo", name: "lint", version: "1.0.0" },
      spec: { image: "demo/lint:1", data_format: "pairs" },
    });
  });

  it("trims names, versions and images", () => {
    const { definition } = buildDefinition(filled({ namespace: " demo ", name: " lint ", version: " 1.0.0 ", image: " demo/lint:1 " }));
    expect(definition.metadata).toEqual({ namespace: "demo", name: "lint", version: "1.0.0" });
    expect(definition.spec.image).toBe("demo/lint:1");
  });

  it("skips blank command lines", () => {
    expect(buildDefinition(filled({ command: "flake8\n\n  --max-line-length=100  \n" })).definition.spec.command).toEqual([
      "flake8",
      "--max-line-length=100",
    ]);
  });

  it("sends every input and output row, blank ones too, so problem indexes match the rows", () => {
    const form = filled({ inputs: [emptyInput(counter()), { ...emptyInput(counter()), name: "ref" }], outputs: [emptyOutput(counter())] });
    const { definition } = buildDefinition(form);
    expect(definition.spec.inputs).toEqual([
      { name: "", type: "string", required: false },
      { name: "ref", type: "string", required: false },
    ]);
    expect(definition.spec.outputs).toEqual([{ name: "", type: "string" }]);
  });

  it("turns defaults into their input's type", () => {
    const inputs = [
      { ...emptyInput(counter()), name: "count", type: "number" as const, default: " 2.5 " },
      { ...emptyInput(counter()), name: "quiet", type: "boolean" as const, default: "True" },
      { ...emptyInput(counter()), name: "ref", default: " main " },
    ];
    const defaults = buildDefinition(filled({ inputs })).definition.spec.inputs?.map((input) => input.default);
    expect(defaults).toEqual([2.5, true, " main "]);
  });

  it("reports a default that is not of its input's type at the default's path", () => {
    const inputs = [
      { ...emptyInput(counter()), name: "ok" },
      { ...emptyInput(counter()), name: "count", type: "number" as const, default: "many" },
      { ...emptyInput(counter()), name: "quiet", type: "boolean" as const, default: "yes" },
    ];
    expect(buildDefinition(filled({ inputs })).problems.map((p) => p.path)).toEqual(["spec.inputs[1].default", "spec.inputs[2].default"]);
  });

  it("sends CPU as numbers, memory as quantities and a bare timeout as seconds", () => {
    const form = filled({ cpuRequest: "0.5", cpuLimit: "2", memoryRequest: "64Mi", memoryLimit: "", timeout: "90" });
    const { spec } = buildDefinition(form).definition;
    expect(spec.resources).toEqual({ cpu_request: 0.5, cpu_limit: 2, memory_request: "64Mi" });
    expect(spec.timeout).toBe(90);
    expect(buildDefinition(filled({ timeout: "1h30m" })).definition.spec.timeout).toBe("1h30m");
  });

  it("reports a CPU that is not a number at its resource path", () => {
    expect(buildDefinition(filled({ cpuLimit: "two" })).problems).toEqual([
      { path: "spec.resources.cpu_limit", message: "CPU is a number of cores, like 0.5 or 2" },
    ]);
  });

  it("needs a namespace it can send to, since the namespace is part of the address", () => {
    expect(buildDefinition(filled({ namespace: "" })).problems.map((p) => p.path)).toEqual(["metadata.namespace"]);
    expect(buildDefinition(filled({ namespace: "My Team" })).problems.map((p) => p.path)).toEqual(["metadata.namespace"]);
  });

  it("asks for a strict result only when it is ticked", () => {
    expect(buildDefinition(filled({ strictResult: true })).definition.spec.strict_result).toBe(true);
    expect("strict_result" in buildDefinition(filled()).definition.spec).toBe(false);
  });
});

describe("a problem the server reports", () => {
  const at = (path: string, message = "is wrong") => fieldOfProblem({ path, message });

  it("belongs to the metadata field its path names", () => {
    expect(at("metadata.namespace")).toBe("namespace");
    expect(at("metadata.version")).toBe("version");
  });

  it("belongs to the spec field its path names, a command argument to the command", () => {
    expect(at("spec.image")).toBe("image");
    expect(at("spec.data_format")).toBe("data_format");
    expect(at("spec.timeout")).toBe("timeout");
    expect(at("spec.command[2]")).toBe("command");
  });

  it("belongs to a row's field, to the row, or to the section", () => {
    expect(at("spec.inputs[0].name")).toBe("inputs[0].name");
    expect(at("spec.outputs[3].type")).toBe("outputs[3].type");
    expect(at("spec.outputs[1].required")).toBe("outputs[1]");
    expect(at("spec.inputs[2]")).toBe("inputs[2]");
    expect(at("spec.inputs")).toBe("inputs");
  });

  it("belongs to a resource field, or to the resources when it is about two of them", () => {
    expect(at("spec.resources.cpu_request")).toBe("resources.cpu_request");
    expect(at("spec.resources", "cpu_request is larger than cpu_limit")).toBe("resources");
  });

  it("about a missing field belongs to that field", () => {
    expect(at("spec", "required field 'image' is missing")).toBe("image");
    expect(at("spec.inputs[1]", "required field 'name' is missing")).toBe("inputs[1].name");
    expect(at("", "required field 'metadata' is missing")).toBeUndefined();
  });

  it("has no field when the form has no place for it", () => {
    expect(at("kind")).toBeUndefined();
    expect(at("spec", "unknown field 'imagee'")).toBeUndefined();
    expect(at("metadata", "unknown field 'owner'")).toBeUndefined();
    expect(at("")).toBeUndefined();
  });
});

describe("problems placed on the form", () => {
  const form = filled({ inputs: [emptyInput(counter())] });

  it("sit next to their fields, several to a field, and the rest in a list", () => {
    const placed = placeProblems(
      [
        { path: "metadata.version", message: "should match pattern" },
        { path: "spec.inputs[0].name", message: "is too short" },
        { path: "spec.inputs[0].name", message: "is reserved" },
        { path: "kind", message: "should be 'Component'" },
      ],
      form,
    );
    expect(Object.fromEntries(placed.byField)).toEqual({
      version: ["should match pattern"],
      "inputs[0].name": ["is too short", "is reserved"],
    });
    expect(placed.unplaced).toEqual([{ path: "kind", message: "should be 'Component'" }]);
  });

  it("about a row the form does not show go to the list", () => {
    const problem = { path: "spec.inputs[4].name", message: "is too short" };
    expect(placeProblems([problem], form).unplaced).toEqual([problem]);
  });

  it("about a field are dropped once that field is edited", () => {
    const problems = [
      { path: "metadata.version", message: "bad" },
      { path: "metadata.name", message: "bad" },
    ];
    expect(withoutProblemsOf(problems, "version")).toEqual([{ path: "metadata.name", message: "bad" }]);
  });

  it("about a section's rows are dropped once one of its rows is removed", () => {
    const problems = [
      { path: "spec.inputs[1].name", message: "bad" },
      { path: "spec.inputs", message: "bad" },
      { path: "spec.outputs[0].name", message: "bad" },
    ];
    expect(withoutProblemsIn(problems, "inputs")).toEqual([{ path: "spec.outputs[0].name", message: "bad" }]);
  });
});

describe("the draft handed to the publish form", () => {
  it("survives the trip through session storage", () => {
    expect(decodeDraft(encodeDraft(pytest))).toEqual(pytest);
  });

  it("is nothing when missing, not JSON, or not a component definition", () => {
    expect(decodeDraft(null)).toBeUndefined();
    expect(decodeDraft("{oops")).toBeUndefined();
    expect(decodeDraft("[]")).toBeUndefined();
    expect(decodeDraft(JSON.stringify({ metadata: { namespace: "demo", name: "x" }, spec: { image: "x" } }))).toBeUndefined();
    expect(decodeDraft(JSON.stringify({ metadata: { namespace: "demo", name: "x", version: "1" }, spec: {} }))).toBeUndefined();
  });
});
