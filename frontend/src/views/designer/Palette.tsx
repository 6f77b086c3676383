import { useState } from "react";
import type { ComponentEntry } from "../../api/types";
import { searchComponents } from "../registry/registryModel";
import { COMPONENT_MIME } from "./Canvas";
import { refOf } from "./useCatalog";

/** The components to drag into an action (or add with the button, from the keyboard). */
export function Palette({ components, onAdd }: { components: ComponentEntry[]; onAdd: (ref: string) => void }) {
  const [search, setSearch] = useState("");
  const shown = searchComponents(
    components.filter((entry) => !entry.deprecated),
    search,
  );
  return (
    <aside className="palette" data-testid="palette">
      <h2>Components</h2>
      <input
        aria-label="Search components"
        data-own-keys // Ctrl+Z there undoes the search text
        placeholder="Search…"
        value={search}
        onChange={(event) => setSearch(event.target.value)}
      />
      {shown.length === 0 && <p className="muted">No component matches.</p>}
      <ul>
        {shown.map((entry) => {
          const ref = refOf(entry);
          return (
            <li
              key={ref}
              className="palette-item"
              data-testid="palette-item"
              data-ref={ref}
              draggable
              onDragStart={(event) => {
                event.dataTransfer.setData(COMPONENT_MIME, ref);
                event.dataTransfer.effectAllowed = "copy";
              }}
              title={entry.definition.metadata.description ?? ""}
            >
              <span className="palette-name">{entry.name}</span>
              <span className="muted">
                {entry.namespace} · {entry.version}
              </span>
              <button className="palette-add" aria-label={`Add ${entry.name}`} onClick={() => onAdd(ref)}>
                +
              </button>
            </li>
          );
        })}
      </ul>
      <p className="muted hint">Drag a component into an action, onto a stage (a new action), or right of the last stage (a new stage).</p>
    </aside>
  );
}
