import { describe, expect, it } from "vitest";
import { describeValue } from "./values";

const shown = (value: unknown, fallback?: unknown) => {
  const described = describeValue(value, fallback);
  return described && `${described.kind}:${described.text}`;
};

describe("what an input holds, in short", () => {
  it("shows a value written as is, numbers and booleans too", () => {
    expect(shown("linux-arm64")).toBe("literal:linux-arm64");
    expect(shown(3)).toBe("literal:3");
    expect(shown(false)).toBe("literal:false");
  });

  it("names the param an input is filled by, rather than show it empty", () => {
    expect(shown("${{ params.flavour }}")).toBe("param:params.flavour");
    expect(shown("${{params.flavour}}")).toBe("param:params.flavour");
    expect(shown("${{ params.a == 'yes' }}")).toBe("param:params.a == 'yes'");
  });

  it("names the job and output a link takes, in text around it too", () => {
    expect(shown("${{ jobs.build.outputs.ARTIFACT }}")).toBe("link:build.ARTIFACT");
    expect(shown("${{ jobs['7up'].outputs.OUT }}")).toBe("link:7up.OUT");
    expect(shown("v${{ jobs.tag.outputs.VERSION }}-${{ params.arch }}")).toBe("link:v{tag.VERSION}-{params.arch}");
  });

  it("shows other expressions as written, and an unparsable one whole", () => {
    expect(shown("${{ trigger.ref }}")).toBe("expression:trigger.ref");
    expect(shown("run-${{ run.id }}")).toBe("expression:run-{run.id}");
    expect(shown("${{ params.x ")).toBe("expression:${{ params.x ");
  });

  it("falls back to the component's default, and to nothing when there is none", () => {
    expect(shown(undefined, "3")).toBe("default:3");
    expect(shown("", 3)).toBe("default:3");
    expect(shown(undefined)).toBeUndefined();
    expect(shown(null, null)).toBeUndefined();
  });

  it("keeps the value as written for the tooltip", () => {
    expect(describeValue("v${{ jobs.tag.outputs.VERSION }}")?.written).toBe("v${{ jobs.tag.outputs.VERSION }}");
  });
});
