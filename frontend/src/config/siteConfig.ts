// Where the designer finds the API. Served by `containerops serve`, the API is beside it
// (`api/...` on the same origin). Hosted on AWS, the designer is a static site (S3 behind
// CloudFront) and the API is API Gateway's: the deploy writes `config.json` next to
// `index.html` naming it, `{"api": "https://…/api"}`. A missing or unreadable file means the
// API is beside the designer.

export const SAME_ORIGIN_API = "api";

export interface SiteConfig {
  /** The base the API's paths are appended to (`/health` → `<api>/health`). */
  api: string;
}

/** The site's configuration from the text of `config.json` (or null when there is none). */
export function parseSiteConfig(text: string | null): SiteConfig {
  if (text === null) return { api: SAME_ORIGIN_API };
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return { api: SAME_ORIGIN_API };
  }
  const api = (document as { api?: unknown } | null)?.api;
  if (typeof api !== "string" || !/^(https:\/\/[^\s/]+(\/\S*)?|\/?[A-Za-z0-9._~\/-]*)$/.test(api) || api === "") {
    return { api: SAME_ORIGIN_API };
  }
  return { api: api.replace(/\/+$/, "") };
}

/** `config.json` beside the page, fetched once before the app starts. */
export async function loadSiteConfig(fetchText: (url: string) => Promise<string | null> = fetchIfThere): Promise<SiteConfig> {
  return parseSiteConfig(await fetchText("config.json"));
}

async function fetchIfThere(url: string): Promise<string | null> {
  try {
    const answer = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
    return answer.ok ? await answer.text() : null;
  } catch {
    return null;
  }
}
