import { useEffect, useState, type ReactNode } from "react";
import type { Mount } from "../../api/types";
import { PLATFORMS, isPlatform, platformNamed } from "../../graph";

/** A labelled text field that commits on blur or Enter, with the problems about it below. */
export function TextField(props: {
  label: string;
  value: string;
  onCommit: (value: string) => void;
  problems?: string[];
  placeholder?: string;
  hint?: ReactNode;
  testId?: string;
}) {
  const { label, value, onCommit, problems = [], placeholder, hint, testId } = props;
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  const commit = () => {
    if (text !== value) onCommit(text);
  };
  return (
    <label className={`field${problems.length ? " invalid" : ""}`}>
      <span className="field-label">{label}</span>
      <input
        value={text}
        placeholder={placeholder}
        data-testid={testId}
        onChange={(event) => setText(event.target.value)}
        onBlur={commit}
        onKeyDown={(event) => {
          if (event.key === "Enter") commit();
        }}
      />
      {hint && <span className="field-hint">{hint}</span>}
      {problems.map((message, index) => (
        <span key={index} className="field-error" data-testid="field-error">
          {message}
        </span>
      ))}
    </label>
  );
}

/** Key/value rows (env, extra data) with add and remove. */
export function PairsField(props: {
  label: string;
  pairs: Record<string, string>;
  onChange: (pairs: Record<string, string>) => void;
  problemsFor: (key: string) => string[];
}) {
  const { label, pairs, onChange, problemsFor } = props;
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const entries = Object.entries(pairs);
  return (
    <fieldset className="pairs">
      <legend>{label}</legend>
      {entries.map(([name, current]) => (
        <div key={name} className="pair">
          <TextField
            label={name}
            value={current}
            problems={problemsFor(name)}
            onCommit={(text) => onChange({ ...pairs, [name]: text })}
          />
          <button
            aria-label={`Remove ${name}`}
            onClick={() => {
              const rest = { ...pairs };
              delete rest[name];
              onChange(rest);
            }}
          >
            ×
          </button>
        </div>
      ))}
      <div className="pair new">
        <input aria-label={`New ${label} name`} placeholder="NAME" value={key} onChange={(e) => setKey(e.target.value)} />
        <input aria-label={`New ${label} value`} placeholder="value" value={value} onChange={(e) => setValue(e.target.value)} />
        <button
          disabled={!key.trim()}
          onClick={() => {
            onChange({ ...pairs, [key.trim()]: value });
            setKey("");
            setValue("");
          }}
        >
          Add
        </button>
      </div>
    </fieldset>
  );
}

/** Host folders mounted into the job's container (the local engine only). */
export function MountsField(props: {
  mounts: Mount[];
  onChange: (mounts: Mount[]) => void;
  problemsAt: (field: string) => string[];
}) {
  const { mounts, onChange, problemsAt } = props;
  const change = (index: number, mount: Mount) => onChange(mounts.map((item, at) => (at === index ? mount : item)));
  return (
    <fieldset className="mounts">
      <legend>Mounts</legend>
      {mounts.map((mount, index) => (
        <div key={index} className="mount">
          <TextField
            label="Host folder"
            value={mount.source}
            placeholder="/abs/path or ${{ params.dir }}"
            problems={problemsAt(`mounts[${index}].source`)}
            onCommit={(source) => change(index, { ...mount, source })}
          />
          <TextField
            label="In the container"
            value={mount.target}
            placeholder="/data"
            problems={problemsAt(`mounts[${index}].target`)}
            onCommit={(target) => change(index, { ...mount, target })}
          />
          <label className="field checkbox">
            <input
              type="checkbox"
              checked={mount.read_only !== false}
              onChange={(event) => change(index, { ...mount, read_only: event.target.checked ? undefined : false })}
            />
            <span className="field-label">Read-only</span>
          </label>
          <button aria-label={`Remove mount ${index + 1}`} onClick={() => onChange(mounts.filter((_, at) => at !== index))}>
            Remove
          </button>
        </div>
      ))}
      <button onClick={() => onChange([...mounts, { source: "", target: "" }])}>Add a mount</button>
    </fieldset>
  );
}

/**
 * Where a job (or every job of the workflow) runs on AWS. "" is the unset choice; a value
 * the server does not know stays selected as written until the user picks another.
 */
export function PlatformField(props: {
  value: unknown; // as the definition holds it, which may be anything
  unsetLabel: string;
  hint: ReactNode;
  onChange: (value: string) => void;
  problems?: string[];
  testId?: string;
}) {
  const { value, unsetLabel, hint, onChange, problems = [], testId } = props;
  const named = platformNamed(value) ?? "";
  return (
    <label className={`field${problems.length ? " invalid" : ""}`}>
      <span className="field-label">Platform (on AWS)</span>
      <select value={named} data-testid={testId} onChange={(event) => onChange(event.target.value)}>
        <option value="">{unsetLabel}</option>
        {PLATFORMS.map((platform) => (
          <option key={platform.value} value={platform.value}>
            {platform.label}
          </option>
        ))}
        {named !== "" && !isPlatform(named) && <option value={named}>{named} (not a platform)</option>}
      </select>
      <span className="field-hint">{hint}</span>
      {problems.map((message, index) => (
        <span key={index} className="field-error" data-testid="field-error">
          {message}
        </span>
      ))}
    </label>
  );
}
