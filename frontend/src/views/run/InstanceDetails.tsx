// One instance of a fan-out job in the side panel (`#/run/<ns>/<run>/test.3`): what it ran
// with (its matrix values and shard), its state and reason, outputs, attempts and the log of
// the attempt the address names, read from the same job-name routes as any job's
// (`…/jobs/test.3/attempts/1/logs`). It is read again whenever its group's counts change.

import { useRef } from "react";
import { api } from "../../api/client";
import type { InstanceState, JobDocument, RunDocument } from "../../api/types";
import { LogView } from "../../logs/LogView";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { elapsed } from "../../ui/format";
import { StatusBadge } from "../../ui/StatusBadge";
import { useLoad } from "../../ui/useLoad";
import { findInstance, instanceAttempts, lastSeenOf } from "./instanceLookup";
import { OutputsTable } from "./OutputsTable";

interface InstanceDetailsProps {
  namespace: string;
  run: RunDocument;
  group: JobDocument;
  index: number;
  now: number;
  attempt?: number;
  line?: number;
}

export function InstanceDetails({ namespace, run, group, index, now, attempt, line }: InstanceDetailsProps) {
  const key = `${group.name}.${index}`;
  const lastSeen = useRef<InstanceState | undefined>(lastSeenOf(run.id, key));
  const counts = JSON.stringify(group.fan_out?.counts ?? {});
  const loaded = useLoad(
    (signal) =>
      findInstance(
        (page) => api.instances(namespace, run.id, group.name, page, { signal }),
        index,
        lastSeen.current,
        group.fan_out?.instances ?? 0,
      ),
    [namespace, run.id, group.name, index, counts],
  );
  const item = loaded.data;
  if (item) lastSeen.current = item.status;
  const back = href({ view: "run", namespace, runId: run.id, job: group.name });
  const attempts = item ? instanceAttempts(item) : [];
  const named = attempts.some((each) => each.number === attempt) ? attempt : undefined;
  const shown = named ?? attempts[attempts.length - 1]?.number;
  const linkTo = (number: number | undefined, seq?: number) =>
    href({ view: "run", namespace, runId: run.id, job: key, attempt: number, line: seq });
  const values = Object.entries(item?.values ?? {});
  const outputs = Object.entries(item?.outputs ?? {});
  return (
    <div className="job-details instance-details" data-testid="instance-details" data-instance={key}>
      <p>
        <a href={back} data-testid="instance-back">
          ← {group.name}: every instance
        </a>
      </p>
      <h2>
        {key} {item && <StatusBadge status={item.status} />}
      </h2>
      <ErrorNote error={loaded.error} />
      {!item && !loaded.loading && !loaded.error && <p className="muted">The job {group.name} has no instance {index}.</p>}
      {!item && loaded.loading && <p className="muted">Loading…</p>}
      {item && (
        <>
          <dl>
            {values.length > 0 && (
              <>
                <dt>Matrix</dt>
                <dd data-testid="instance-values">{values.map(([name, value]) => `${name}=${value}`).join(", ")}</dd>
              </>
            )}
            {item.shard !== null && item.shard !== undefined && (
              <>
                <dt>Shard</dt>
                <dd data-testid="instance-shard">{item.shard}</dd>
              </>
            )}
            {item.reason && (
              <>
                <dt>Reason</dt>
                <dd data-testid="job-reason">{item.reason}</dd>
              </>
            )}
            <dt>Exit code</dt>
            <dd data-testid="job-exit-code">{item.exit_code ?? "—"}</dd>
            <dt>Duration</dt>
            <dd>{elapsed(item.started_at, item.finished_at, now) || "—"}</dd>
          </dl>
          <h3>Outputs</h3>
          <OutputsTable outputs={outputs} />
          {attempts.length > 0 && (
            <>
              <h3>Attempts</h3>
              <div className="attempts" role="tablist">
                {attempts.map((each) => (
                  <button
                    key={each.number}
                    role="tab"
                    aria-selected={each.number === shown}
                    className={`status-${each.status}`}
                    data-testid="attempt-tab"
                    data-attempt={each.number}
                    onClick={() => {
                      window.location.hash = linkTo(each.number);
                    }}
                  >
                    #{each.number} {each.status}
                  </button>
                ))}
              </div>
            </>
          )}
          {shown !== undefined ? (
            <LogView
              key={shown}
              namespace={namespace}
              runId={run.id}
              job={key}
              attempt={shown}
              targetLine={named === shown || attempt === undefined ? line : undefined}
              lineHref={(seq) => linkTo(shown, seq)}
              className="run-log"
            />
          ) : (
            <p className="muted">No attempt yet: the instance has not started.</p>
          )}
        </>
      )}
    </div>
  );
}
