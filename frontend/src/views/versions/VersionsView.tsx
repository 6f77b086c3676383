// A workflow's versions (`#/versions/<ns>/<name>?from=A&to=B`): every saved version with
// when it was saved, which is the latest, a link that opens it read-only in the designer,
// and a line diff of the YAML export of the two picked (by default the latest against the
// one before). The two picked are in the address, so a comparison can be shared. The diff
// folds the unchanged runs (three lines of context either side, as `diff -u`); a folded run
// opens on a click. Everything from the server is shown as text.
import { useMemo, useState } from "react";
import { api } from "../../api/client";
import type { WorkflowVersionEntry } from "../../api/types";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { formatAgo, formatDateTime } from "../../ui/format";
import { useLoad } from "../../ui/useLoad";
import { diffLines, foldUnchanged, summarise, type DiffLine, type DiffRow } from "./lineDiff";
import { comparedPair } from "./pair";
import "./versions.css";

interface Props {
  namespace: string;
  name: string;
  from?: number;
  to?: number;
}

export function VersionsView({ namespace, name, from, to }: Props) {
  const listed = useLoad((_signal) => api.workflowVersions(namespace, name), [namespace, name]);
  const versions = listed.data?.versions ?? [];
  const pair = comparedPair(versions, from, to);
  const pick = (side: "from" | "to", version: number) => {
    const [older, newer] = pair ?? [version, version];
    const next = side === "from" ? { from: version, to: newer } : { from: older, to: version };
    window.location.hash = href({ view: "versions", namespace, name, ...next });
  };

  return (
    <section className="page versions-page" data-testid="versions">
      <h1>
        Versions of {namespace}/{name}
      </h1>
      <p className="back">
        <a href={href({ view: "designer", namespace, name })}>Open the latest in the designer</a> ·{" "}
        <a href={href({ view: "home", namespace })}>All workflows</a>
      </p>
      {listed.error ? (
        <ErrorNote error={listed.error} />
      ) : !listed.data ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <VersionList namespace={namespace} name={name} versions={versions} pair={pair} onPick={pick} />
          {pair && <Comparison namespace={namespace} name={name} older={pair[0]} newer={pair[1]} />}
        </>
      )}
    </section>
  );
}

interface ListProps {
  namespace: string;
  name: string;
  versions: WorkflowVersionEntry[];
  pair: [number, number] | null;
  onPick: (side: "from" | "to", version: number) => void;
}

function VersionList({ namespace, name, versions, pair, onPick }: ListProps) {
  const now = Date.now() / 1000;
  return (
    <table className="list version-list" data-testid="version-list">
      <thead>
        <tr>
          <th>Version</th>
          <th>Saved</th>
          <th title="The older side of the comparison">From</th>
          <th title="The newer side of the comparison">To</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((entry) => (
          <tr key={entry.version} data-testid="version-row" data-version={entry.version}>
            <td>
              <a
                href={href({ view: "designer", namespace, name, version: entry.version })}
                title={`Open version ${entry.version} read-only`}
                data-testid="open-version"
              >
                v{entry.version}
              </a>
              {entry.latest && <span className="tag">latest</span>}
            </td>
            <td>
              <time dateTime={new Date(entry.created_at * 1000).toISOString()} title={formatAgo(entry.created_at, now)}>
                {formatDateTime(entry.created_at)}
              </time>
            </td>
            <td className="pick">
              <input
                type="radio"
                name="compare-from"
                aria-label={`Compare from version ${entry.version}`}
                checked={pair?.[0] === entry.version}
                onChange={() => onPick("from", entry.version)}
                data-testid="pick-from"
              />
            </td>
            <td className="pick">
              <input
                type="radio"
                name="compare-to"
                aria-label={`Compare to version ${entry.version}`}
                checked={pair?.[1] === entry.version}
                onChange={() => onPick("to", entry.version)}
                data-testid="pick-to"
              />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface ComparisonProps {
  namespace: string;
  name: string;
  older: number;
  newer: number;
}

function Comparison({ namespace, name, older, newer }: ComparisonProps) {
  const texts = useLoad(
    (_signal) => Promise.all([api.workflowYaml(namespace, name, older), api.workflowYaml(namespace, name, newer)]),
    [namespace, name, older, newer],
  );
  const lines = useMemo(() => (texts.data ? diffLines(texts.data[0], texts.data[1]) : []), [texts.data]);
  const counts = summarise(lines);
  return (
    <div className="comparison" data-testid="comparison">
      <div className="diff-head">
        <h2 data-testid="diff-title">
          {older === newer ? `Version ${newer}` : `From version ${older} to version ${newer}`}
        </h2>
        {texts.data && (
          <span data-testid="diff-counts">
            <span className="diff-count-added">+{counts.added}</span> <span className="diff-count-removed">−{counts.removed}</span>{" "}
            <span className="muted">lines</span>
          </span>
        )}
      </div>
      <ErrorNote error={texts.error} />
      {!texts.data ? (
        !texts.error && <p className="muted">Loading…</p>
      ) : older === newer ? (
        <p className="muted">Pick two different versions to see what changed.</p>
      ) : counts.added + counts.removed === 0 ? (
        <p className="muted" data-testid="diff-none">
          The two versions have the same YAML.
        </p>
      ) : (
        <DiffList key={`${older}-${newer}`} lines={lines} />
      )}
    </div>
  );
}

const MARKS = { same: " ", added: "+", removed: "−" } as const;

function DiffList({ lines }: { lines: DiffLine[] }) {
  const [opened, setOpened] = useState<ReadonlySet<number>>(new Set()); // folds opened, by their first old line
  const rows = useMemo(() => foldUnchanged(lines), [lines]);
  const shown: DiffRow[] = rows.flatMap((row) => {
    if (row.kind !== "fold" || !opened.has(row.before)) return [row];
    const start = lines.findIndex((line) => line.kind === "same" && line.before === row.before);
    return lines.slice(start, start + row.count);
  });
  return (
    <ol className="diff-lines" aria-label="Changed lines" data-testid="diff">
      {shown.map((row, index) =>
        row.kind === "fold" ? (
          <li key={`fold-${row.before}`} className="diff-fold" data-testid="diff-fold">
            <button type="button" onClick={() => setOpened(new Set([...opened, row.before]))}>
              ⋯ {row.count} unchanged lines ({row.before}–{row.before + row.count - 1}): show them
            </button>
          </li>
        ) : (
          <li key={index} className={`diff-${row.kind}`} data-kind={row.kind} data-testid="diff-line">
            <span className="num">{row.before ?? ""}</span>
            <span className="num">{row.after ?? ""}</span>
            <span className="mark">{MARKS[row.kind]}</span>
            <span className="text">{row.text}</span>
          </li>
        ),
      )}
    </ol>
  );
}
