import { describe, expect, it } from "vitest";
import { loadSiteConfig, parseSiteConfig, SAME_ORIGIN_API } from "./siteConfig";

describe("the site's configuration", () => {
  it("puts the API beside the designer when there is no config.json", () => {
    expect(parseSiteConfig(null)).toEqual({ api: SAME_ORIGIN_API });
  });

  it("names the hosted API, without a trailing slash", () => {
    expect(parseSiteConfig('{"api": "https://abc123.execute-api.eu-west-1.amazonaws.com/api/"}')).toEqual({
      api: "https://abc123.execute-api.eu-west-1.amazonaws.com/api",
    });
  });

  it("ignores a file that is not JSON, names no API, or names one over plain http", () => {
    for (const text of ["<html>not found</html>", "{}", '{"api": 3}', '{"api": "http://example.invalid/api"}', '{"api": "javascript:alert(1)"}']) {
      expect(parseSiteConfig(text)).toEqual({ api: SAME_ORIGIN_API });
    }
  });

  it("is read from config.json beside the page", async () => {
    const asked: string[] = [];
    const config = await loadSiteConfig(async (url) => {
      asked.push(url);
      return '{"api": "https://api.example.invalid/api"}';
    });
    expect(asked).toEqual(["config.json"]);
    expect(config.api).toBe("https://api.example.invalid/api");
  });
});
