// The component registry: browse a namespace's components, search them, and read one
// version in full (with its other versions, deprecation, and the way to publish the next).
// Everything users wrote (names, descriptions, images) is rendered as React text.
import { useEffect, useMemo, useState } from "react";
import { api } from "../../api/client";
import type { ComponentEntry, InputSpec, OutputSpec, Scalar } from "../../api/types";
import { href } from "../../routing";
import { ErrorNote } from "../../ui/ErrorNote";
import { rememberedNamespace, rememberNamespace } from "../../ui/namespace";
import { useLoad } from "../../ui/useLoad";
import { PUBLISH_DRAFT_KEY, descriptionOf, encodeDraft, latestOfEach, newestFirst, searchComponents, shownVersion } from "./registryModel";
import "./registry.css";

export interface RegistryViewProps {
  namespace?: string;
  name?: string;
  version?: string;
}

export function RegistryView({ namespace, name, version }: RegistryViewProps) {
  useEffect(() => {
    if (namespace) rememberNamespace(namespace);
  }, [namespace]);

  return (
    <section className="page registry">
      {namespace && name ? (
        <ComponentPage key={`${namespace}/${name}`} namespace={namespace} name={name} version={version} />
      ) : (
        <Browse namespace={namespace} />
      )}
    </section>
  );
}

// --- browsing ----------------------------------------------------------------------------

// Only the namespaces that hold components: a namespace of workflows alone has nothing to
// show here. Without one in the address, the last one used (or the first) is opened, and the
// address says so (replaced, not added: Back leaves the registry as before).
function Browse({ namespace }: { namespace?: string }) {
  const namespaces = useLoad((_signal) => api.namespaces("components"), []);
  const known = namespaces.data?.namespaces ?? [];
  const picked = namespace === undefined && known.length > 0 ? rememberedNamespace(known) : undefined;
  useEffect(() => {
    if (picked) window.location.replace(href({ view: "registry", namespace: picked }));
  }, [picked]);
  return (
    <>
      <header className="registry-header">
        <h1>Components</h1>
        <a className="registry-button" href={href({ view: "publish", namespace })}>
          Publish a component
        </a>
      </header>
      <ErrorNote error={namespaces.error} />
      <div className="registry-browse">
        <nav className="registry-namespaces" aria-label="Namespaces" data-testid="registry-namespaces">
          <h2>Namespaces</h2>
          {namespaces.data && known.length === 0 && <p className="muted">Nothing is published yet.</p>}
          <ul>
            {known.map((each) => (
              <li key={each}>
                <a
                  href={href({ view: "registry", namespace: each })}
                  aria-current={each === namespace ? "page" : undefined}
                  className={each === namespace ? "current" : undefined}
                >
                  {each}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="registry-main">
          {namespace ? (
            <ComponentList key={namespace} namespace={namespace} />
          ) : (
            <p className="muted">Choose a namespace to see its components.</p>
          )}
        </div>
      </div>
    </>
  );
}

function ComponentList({ namespace }: { namespace: string }) {
  const loaded = useLoad((_signal) => api.components(namespace), [namespace]);
  const [query, setQuery] = useState("");
  const latest = useMemo(() => latestOfEach(loaded.data?.components ?? []), [loaded.data]);
  const shown = useMemo(() => searchComponents(latest, query), [latest, query]);

  return (
    <>
      <label className="registry-search">
        <span className="registry-label">Search components</span>
        <input
          type="search"
          value={query}
          placeholder="Name or description"
          data-testid="registry-search"
          onChange={(event) => setQuery(event.target.value)}
        />
      </label>
      <ErrorNote error={loaded.error} />
      {!loaded.data && !loaded.error && <p className="muted">Loading…</p>}
      {loaded.data && latest.length === 0 && <p className="muted">No components in {namespace} yet.</p>}
      {loaded.data && latest.length > 0 && shown.length === 0 && <p className="muted">No component matches “{query}”.</p>}
      {shown.length > 0 && (
        <table className="registry-table" data-testid="component-list">
          <thead>
            <tr>
              <th scope="col">Component</th>
              <th scope="col">Latest version</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((entry) => (
              <tr
                key={entry.name}
                className={entry.deprecated ? "deprecated" : undefined}
                data-testid="component-row"
                data-name={entry.name}
              >
                <td>
                  <a href={href({ view: "registry", namespace, name: entry.name })}>{entry.name}</a>
                  {entry.deprecated && <DeprecatedTag />}
                </td>
                <td>
                  <code>{entry.version}</code>
                </td>
                <td>{descriptionOf(entry) || <span className="muted">No description.</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function DeprecatedTag() {
  return (
    <span className="registry-tag" data-testid="deprecated-tag">
      deprecated
    </span>
  );
}

// --- one component -----------------------------------------------------------------------

function ComponentPage({ namespace, name, version }: Required<Pick<RegistryViewProps, "namespace" | "name">> & { version?: string }) {
  const loaded = useLoad((_signal) => api.componentVersions(namespace, name), [namespace, name]);
  const versions = loaded.data?.versions ?? [];
  const entry = shownVersion(versions, version);

  return (
    <>
      <p className="registry-crumbs">
        <a href={href({ view: "registry" })}>Components</a> / <a href={href({ view: "registry", namespace })}>{namespace}</a> /{" "}
        {name}
      </p>
      <ErrorNote error={loaded.error} />
      {!loaded.data && !loaded.error && <p className="muted">Loading…</p>}
      {loaded.data && !entry && (
        <p className="muted" role="alert">
          Version {version} of {namespace}/{name} is not published.{" "}
          <a href={href({ view: "registry", namespace, name })}>See the latest version</a>
        </p>
      )}
      {entry && <VersionDetails entry={entry} versions={versions} onChanged={loaded.reload} />}
    </>
  );
}

function VersionDetails({ entry, versions, onChanged }: { entry: ComponentEntry; versions: ComponentEntry[]; onChanged: () => void }) {
  const { metadata, spec } = entry.definition;
  const resources = spec.resources ?? {};
  return (
    <article className="registry-component" data-testid="component-page">
      <header className="registry-header">
        <h1>
          {entry.name} <code className="registry-version">{entry.version}</code>
          {entry.deprecated && <DeprecatedTag />}
        </h1>
        <PublishNext entry={entry} />
      </header>
      <p className="registry-description">{metadata.description || <span className="muted">No description.</span>}</p>

      <DeprecationControl entry={entry} onChanged={onChanged} />

      <dl className="registry-facts">
        <dt>Image</dt>
        <dd>
          <code data-testid="component-image">{spec.image}</code>
        </dd>
        <dt>Command</dt>
        <dd>{spec.command?.length ? <code>{JSON.stringify(spec.command)}</code> : <span className="muted">the image's own</span>}</dd>
        <dt>Data format</dt>
        <dd>{spec.data_format ?? "pairs"}</dd>
        <dt>Timeout</dt>
        <dd>{spec.timeout === undefined || spec.timeout === null ? <span className="muted">the default</span> : timeoutText(spec.timeout)}</dd>
        <dt>Strict result</dt>
        <dd>{spec.strict_result ? "yes: fails without a CO_RESULT line" : "no"}</dd>
        <dt>Resources</dt>
        <dd>
          <table className="registry-table compact">
            <thead>
              <tr>
                <th scope="col" />
                <th scope="col">Request</th>
                <th scope="col">Limit</th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <th scope="row">CPU</th>
                <td>{orDefault(resources.cpu_request)}</td>
                <td>{orDefault(resources.cpu_limit)}</td>
              </tr>
              <tr>
                <th scope="row">Memory</th>
                <td>{orDefault(resources.memory_request)}</td>
                <td>{orDefault(resources.memory_limit)}</td>
              </tr>
            </tbody>
          </table>
        </dd>
      </dl>

      <h2>Inputs</h2>
      <InputsTable inputs={spec.inputs ?? []} />
      <h2>Outputs</h2>
      <OutputsTable outputs={spec.outputs ?? []} />

      <h2>Versions</h2>
      <ul className="registry-versions" data-testid="component-versions">
        {newestFirst(versions).map((each) => (
          <li key={each.version}>
            {each.version === entry.version ? (
              <strong aria-current="page">{each.version}</strong>
            ) : (
              <a href={href({ view: "registry", namespace: each.namespace, name: each.name, version: each.version })}>{each.version}</a>
            )}
            {each.deprecated && <DeprecatedTag />}
          </li>
        ))}
      </ul>
    </article>
  );
}

function timeoutText(timeout: string | number): string {
  return typeof timeout === "number" ? `${timeout} s` : timeout;
}

function orDefault(value: string | number | undefined) {
  return value === undefined ? <span className="muted">—</span> : String(value);
}

function shownDefault(value: Scalar | null | undefined) {
  if (value === undefined || value === null) return <span className="muted">—</span>;
  return <code>{typeof value === "string" ? JSON.stringify(value) : String(value)}</code>;
}

function InputsTable({ inputs }: { inputs: InputSpec[] }) {
  if (inputs.length === 0) return <p className="muted">No inputs.</p>;
  return (
    <table className="registry-table" data-testid="component-inputs">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Required</th>
          <th scope="col">Default</th>
          <th scope="col">Description</th>
        </tr>
      </thead>
      <tbody>
        {inputs.map((input) => (
          <tr key={input.name}>
            <td>
              <code>{input.name}</code>
            </td>
            <td>{input.type ?? "string"}</td>
            <td>{input.required ? "yes" : "no"}</td>
            <td>{shownDefault(input.default)}</td>
            <td>{input.description}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function OutputsTable({ outputs }: { outputs: OutputSpec[] }) {
  if (outputs.length === 0) return <p className="muted">No outputs.</p>;
  return (
    <table className="registry-table" data-testid="component-outputs">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Type</th>
          <th scope="col">Description</th>
        </tr>
      </thead>
      <tbody>
        {outputs.map((output) => (
          <tr key={output.name}>
            <td>
              <code>{output.name}</code>
            </td>
            <td>{output.type ?? "string"}</td>
            <td>{output.description}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function DeprecationControl({ entry, onChanged }: { entry: ComponentEntry; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.deprecateComponent(entry.namespace, entry.name, entry.version, !entry.deprecated);
      onChanged();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className={`registry-deprecation${entry.deprecated ? " is-deprecated" : ""}`}>
      <span data-testid="deprecated-state">
        {entry.deprecated
          ? "This version is deprecated: workflows pinned to it still run it, the designer's palette hides it."
          : "This version is current."}
      </span>
      <button type="button" onClick={toggle} disabled={busy} data-testid="deprecate-toggle">
        {entry.deprecated ? "Un-deprecate this version" : "Deprecate this version"}
      </button>
      <ErrorNote error={error} />
    </div>
  );
}

/**
 * "Publish a new version": the shown definition goes to session storage (PUBLISH_DRAFT_KEY)
 * on the way to the publish page, which reads it once to pre-fill its form. The address
 * stays plain (`#/publish/<ns>`), so no definition ever travels in a URL.
 */
function PublishNext({ entry }: { entry: ComponentEntry }) {
  return (
    <a
      className="registry-button"
      href={href({ view: "publish", namespace: entry.namespace })}
      data-testid="publish-next"
      onClick={() => sessionStorage.setItem(PUBLISH_DRAFT_KEY, encodeDraft(entry.definition))}
    >
      Publish a new version
    </a>
  );
}
