// The job panel's "Fan-out" section: shards, the matrix's axes (a name and its values,
// comma-separated), include and exclude entries (one line of axis=value pairs each), and,
// once the job fans out, max_parallel, fail_fast and allowed_failures. Each text field is an
// edit as it is typed (one undo step per field, as every field of the panel); adding and
// removing rows are steps of their own. The instance count the box shows ("× N") is said here
// too, with the limit when it is passed.

import { useState } from "react";
import type { Job } from "../../api/types";
import { MAX_INSTANCES, countText, instanceCount, isFanOut } from "../../graph";
import { ALLOWED_FAILURES, AXIS_VALUES, KEY, MATRIX_ENTRY, MAX_PARALLEL, SHARDS } from "../../ui/rules";
import { TextField } from "./fields";
import {
  addAxis,
  addEntry,
  axesOf,
  entriesOf,
  parseValues,
  removeAxis,
  removeEntry,
  renameAxis,
  setAxisValues,
  setEntry,
  setFailFast,
  setFanOutField,
  valuesText,
  type EntryList,
} from "./fanoutEdits";

const text = (value: unknown) => (value === undefined || value === null ? "" : String(value));

interface FanOutSectionProps {
  job: Job;
  problemsAt: (field: string) => string[];
  /** Problems of the matrix and its parts (`matrix`, `matrix.python`, `matrix.include[0]`). */
  matrixProblems: string[];
  onChange: (job: Job) => void;
}

export function FanOutSection({ job, problemsAt, matrixProblems, onChange }: FanOutSectionProps) {
  const fansOut = isFanOut(job);
  const count = instanceCount(job);
  const shown = fansOut || job.max_parallel !== undefined || job.fail_fast !== undefined || job.allowed_failures !== undefined;
  return (
    <fieldset className="fan-out" data-testid="fan-out">
      <legend>Fan-out</legend>
      <p className="field-hint" data-testid="fan-out-count">
        {fansOut
          ? `Runs as ${countText(count)} instance${count === 1 ? "" : "s"}${count > MAX_INSTANCES ? `: over the limit of ${countText(MAX_INSTANCES)}` : ""}.`
          : "Give shards or a matrix to run this job as many instances."}
      </p>
      <TextField
        label="Shards"
        value={text(job.shards)}
        placeholder="none (e.g. 8)"
        rule={SHARDS}
        hint={<>Each instance reads <code>CO_SHARD_INDEX</code> and <code>CO_SHARD_COUNT</code>.</>}
        problems={problemsAt("shards")}
        testId="fan-out-shards"
        onChange={(value) => onChange(setFanOutField(job, "shards", value))}
      />
      <MatrixAxes job={job} onChange={onChange} />
      {matrixProblems.map((message, index) => (
        <span key={index} className="field-error" data-testid="field-error">
          {message}
        </span>
      ))}
      {job.matrix !== undefined && (
        <>
          <EntryRows job={job} list="include" onChange={onChange} />
          <EntryRows job={job} list="exclude" onChange={onChange} />
        </>
      )}
      {shown && (
        <>
          <TextField
            label="Max parallel"
            value={text(job.max_parallel)}
            placeholder="no limit of its own"
            rule={MAX_PARALLEL}
            problems={problemsAt("max_parallel")}
            testId="fan-out-max-parallel"
            onChange={(value) => onChange(setFanOutField(job, "max_parallel", value))}
          />
          <label className="field checkbox">
            <input
              type="checkbox"
              data-testid="fan-out-fail-fast"
              checked={job.fail_fast !== false}
              onChange={(event) => onChange(setFailFast(job, event.target.checked))}
            />
            <span className="field-label">Fail fast</span>
          </label>
          <span className="field-hint">
            {job.fail_fast !== false
              ? "Once more instances failed than allowed, no other starts and the running ones are stopped."
              : "Every instance runs; the job fails at the end if more failed than allowed."}
          </span>
          {problemsAt("fail_fast").map((message, index) => (
            <span key={index} className="field-error" data-testid="field-error">
              {message}
            </span>
          ))}
          <TextField
            label="Allowed failures"
            value={text(job.allowed_failures)}
            placeholder="none (e.g. 2 or 5%)"
            rule={ALLOWED_FAILURES}
            problems={problemsAt("allowed_failures")}
            testId="fan-out-allowed-failures"
            onChange={(value) => onChange(setFanOutField(job, "allowed_failures", value))}
          />
        </>
      )}
    </fieldset>
  );
}

/** The axes in their order (the order of the instances); rows are keyed by place, so a rename keeps the focus. */
function MatrixAxes({ job, onChange }: { job: Job; onChange: (job: Job) => void }) {
  const axes = axesOf(job);
  const [name, setName] = useState("");
  const [values, setValues] = useState("");
  const [refused, setRefused] = useState<string>();
  return (
    <div className="matrix-axes" data-testid="matrix-axes">
      <span className="field-label">Matrix axes</span>
      {axes.map((axis, index) => (
        <div key={index} className="matrix-axis" data-testid="matrix-axis">
          <AxisName name={axis.name} onRename={(to) => renameAxis(job, axis.name, to)} onChange={onChange} />
          <TextField
            label="Values"
            value={valuesText(axis.values)}
            rule={AXIS_VALUES}
            testId="matrix-axis-values"
            onChange={(typed) => onChange(setAxisValues(job, axis.name, parseValues(typed)))}
          />
          <button aria-label={`Remove axis ${axis.name}`} onClick={() => onChange(removeAxis(job, axis.name))}>
            ×
          </button>
        </div>
      ))}
      <div className="matrix-axis new">
        <input aria-label="New axis name" placeholder="e.g. python" value={name} onChange={(event) => setName(event.target.value)} />
        <input
          aria-label="New axis values"
          placeholder="e.g. 3.11, 3.12"
          value={values}
          onChange={(event) => setValues(event.target.value)}
        />
        <button
          disabled={!name.trim()}
          data-testid="matrix-add-axis"
          onClick={() => {
            const next = addAxis(job, name, parseValues(values));
            if (!next) {
              setRefused(`The matrix already has an axis '${name.trim()}' (or the name is include/exclude).`);
              return;
            }
            setRefused(undefined);
            onChange(next);
            setName("");
            setValues("");
          }}
        >
          Add axis
        </button>
      </div>
      {refused && (
        <span className="field-error" role="alert">
          {refused}
        </span>
      )}
    </div>
  );
}

function AxisName({ name, onRename, onChange }: { name: string; onRename: (to: string) => Job | undefined; onChange: (job: Job) => void }) {
  const [refused, setRefused] = useState<string>();
  return (
    <TextField
      label="Axis"
      value={name}
      rule={KEY}
      testId="matrix-axis-name"
      problems={refused ? [refused] : []}
      onBlur={() => setRefused(undefined)}
      onChange={(typed) => {
        const next = onRename(typed);
        if (next) onChange(next);
        setRefused(next ? undefined : `'${typed.trim()}' is not taken: an axis needs a name no other axis has (not include or exclude).`);
      }}
    />
  );
}

const LIST_WORDS: Record<EntryList, { label: string; hint: string }> = {
  include: { label: "Include", hint: "Each entry is one more combination (keys that are no axis are read as matrix.KEY)." },
  exclude: { label: "Exclude", hint: "Combinations matching every pair of an entry do not run." },
};

function EntryRows({ job, list, onChange }: { job: Job; list: EntryList; onChange: (job: Job) => void }) {
  const rows = entriesOf(job, list);
  const words = LIST_WORDS[list];
  return (
    <div className={`matrix-entries matrix-${list}`} data-testid={`matrix-${list}`}>
      <span className="field-label">{words.label}</span>
      <span className="field-hint">{words.hint}</span>
      {rows.map((row, index) => (
        <div key={index} className="matrix-entry">
          <TextField
            label={`${words.label} ${index + 1}`}
            value={row}
            rule={MATRIX_ENTRY}
            testId={`matrix-${list}-entry`}
            onChange={(typed) => onChange(setEntry(job, list, index, typed))}
          />
          <button aria-label={`Remove ${list} ${index + 1}`} onClick={() => onChange(removeEntry(job, list, index))}>
            ×
          </button>
        </div>
      ))}
      <button
        data-testid={`matrix-add-${list}`}
        // Started with the first axis and no value: an empty entry would match every combination.
        onClick={() => onChange(addEntry(job, list, `${axesOf(job)[0]?.name ?? "key"}=`))}
      >
        Add {list === "include" ? "a combination" : "an exclusion"}
      </button>
    </div>
  );
}
