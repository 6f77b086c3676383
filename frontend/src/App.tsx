import { useEffect, useState } from "react";
import { onUnauthorized, token } from "./api/client";
import { href, parseRoute, type Route } from "./routing";
import { rememberedNamespace } from "./ui/namespace";
import { DesignerView } from "./views/designer/DesignerView";
import { WorkflowsView } from "./views/home/WorkflowsView";
import { PublishView } from "./views/registry/PublishView";
import { RegistryView } from "./views/registry/RegistryView";
import { RunView } from "./views/run/RunView";
import { RunHistoryView } from "./views/runs/RunHistoryView";
import { VersionsView } from "./views/versions/VersionsView";

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function CurrentView({ route }: { route: Route }) {
  switch (route.view) {
    case "home":
      return <WorkflowsView namespace={route.namespace} />;
    case "registry":
      return <RegistryView namespace={route.namespace} name={route.name} version={route.version} />;
    case "publish":
      return <PublishView namespace={route.namespace} />;
    case "designer":
      return route.name ? (
        <DesignerView
          key={`${route.namespace}/${route.name}@${route.version ?? "latest"}`}
          namespace={route.namespace}
          name={route.name}
          version={route.version}
        />
      ) : (
        <WorkflowsView namespace={route.namespace} />
      );
    case "versions":
      return <VersionsView namespace={route.namespace} name={route.name} from={route.from} to={route.to} />;
    case "runs":
      return (
        <RunHistoryView namespace={route.namespace} workflow={route.workflow} status={route.status} pages={route.pages} />
      );
    case "run":
      return (
        <RunView namespace={route.namespace} runId={route.runId} job={route.job} attempt={route.attempt} line={route.line} />
      );
  }
}

export function App() {
  const route = useRoute();
  const [askToken, setAskToken] = useState(false);
  useEffect(() => onUnauthorized(() => setAskToken(true)), []);
  const namespace = "namespace" in route && route.namespace ? route.namespace : rememberedNamespace([]) ?? "examples";
  return (
    <div className="app">
      <header className="top">
        <a className="brand" href="#/">
          ContainerOps
        </a>
        <nav>
          <a href={href({ view: "home", namespace })} className={route.view === "home" || route.view === "designer" || route.view === "versions" ? "active" : ""}>
            Workflows
          </a>
          <a href={href({ view: "runs", namespace })} className={route.view === "runs" || route.view === "run" ? "active" : ""}>
            Runs
          </a>
          <a
            href={href({ view: "registry", namespace: route.view === "registry" ? route.namespace : undefined })}
            className={route.view === "registry" || route.view === "publish" ? "active" : ""}
          >
            Components
          </a>
        </nav>
      </header>
      {askToken && <TokenPrompt onDone={() => setAskToken(false)} />}
      <main>
        <CurrentView route={route} />
      </main>
    </div>
  );
}

function TokenPrompt({ onDone }: { onDone: () => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      className="token-prompt"
      onSubmit={(event) => {
        event.preventDefault();
        token.set(value.trim());
        onDone();
        window.location.reload();
      }}
    >
      <label>
        This server needs its API token{" "}
        <input type="password" value={value} onChange={(event) => setValue(event.target.value)} autoFocus />
      </label>
      <button type="submit">Use it</button>
    </form>
  );
}
