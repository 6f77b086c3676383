import { createContext, useContext, useEffect, useId, useRef, useState, type ReactNode } from "react";
import type { Mount } from "../../api/types";
import { PLATFORMS, isPlatform, platformNamed } from "../../graph";
import { CONTAINER_PATH, HOST_PATH, ruleProblem, type Rule } from "../../ui/rules";

/** Bumped when the draft is replaced from outside the fields (undo, redo): they show it even when focused. */
export const DraftRevision = createContext(0);

/**
 * A labelled text field whose every keystroke is an edit: Save and Check see what is typed,
 * and the drawing follows it. While it has the focus the field keeps the text as typed (a
 * number field typed "0." must not become "0"); when it loses the focus, and after an undo
 * or a redo (the draft's revision), it shows the value as the definition holds it.
 *
 * A field with a `rule` says what it allows, in words: while it has the focus, and in red
 * (the field marked) as soon as the text typed breaks it.
 */
export function TextField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  onBlur?: () => void;
  problems?: string[];
  placeholder?: string;
  hint?: ReactNode;
  rule?: Rule;
  testId?: string;
}) {
  const { label, value, onChange, onBlur, problems = [], placeholder, hint, rule, testId } = props;
  const revision = useContext(DraftRevision);
  const [text, setText] = useState(value);
  const [hasFocus, setHasFocus] = useState(false);
  const focused = useRef(false);
  const shownRevision = useRef(revision);
  const ruleId = useId();
  useEffect(() => {
    if (!focused.current || shownRevision.current !== revision) setText(value);
    shownRevision.current = revision;
  }, [value, revision]);
  const broken = rule ? ruleProblem(rule, text) : undefined;
  return (
    <label className={`field${problems.length || broken ? " invalid" : ""}`}>
      <span className="field-label">{label}</span>
      <input
        value={text}
        placeholder={placeholder}
        data-testid={testId}
        aria-invalid={broken ? true : undefined}
        aria-describedby={rule ? ruleId : undefined}
        onFocus={() => {
          focused.current = true;
          setHasFocus(true);
        }}
        onChange={(event) => {
          setText(event.target.value);
          onChange(event.target.value);
        }}
        onBlur={() => {
          focused.current = false;
          setHasFocus(false);
          setText(value);
          onBlur?.();
        }}
      />
      {hint && <span className="field-hint">{hint}</span>}
      {rule && (broken || hasFocus) && (
        <span className="field-rule" id={ruleId} data-testid="field-rule" role={broken ? "alert" : undefined}>
          {broken ?? `Use ${rule.words}.`}
        </span>
      )}
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
            onChange={(text) => onChange({ ...pairs, [name]: text })}
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
        <input aria-label={`New ${label} name`} placeholder="e.g. LOG_LEVEL" value={key} onChange={(e) => setKey(e.target.value)} />
        <input aria-label={`New ${label} value`} placeholder="e.g. debug" value={value} onChange={(e) => setValue(e.target.value)} />
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
            placeholder="e.g. /srv/cache or ${{ params.dir }}"
            rule={HOST_PATH}
            problems={problemsAt(`mounts[${index}].source`)}
            onChange={(source) => change(index, { ...mount, source })}
          />
          <TextField
            label="In the container"
            value={mount.target}
            placeholder="e.g. /data"
            rule={CONTAINER_PATH}
            problems={problemsAt(`mounts[${index}].target`)}
            onChange={(target) => change(index, { ...mount, target })}
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
