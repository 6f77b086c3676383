import { useMemo } from "react";
import { api } from "../../api/client";
import type { ComponentDefinition, ComponentEntry } from "../../api/types";
import { useLoad } from "../../ui/useLoad";
import { latestOfEach, newestFirst } from "../registry/registryModel";

export interface Catalog {
  entries: ComponentEntry[]; // every version of every component, oldest version first
  latest: ComponentEntry[]; // the newest version of each, for the palette
  lookup: (ref: string) => ComponentDefinition | undefined;
  versionsOf: (namespace: string, name: string) => ComponentEntry[]; // newest first
  error?: Error;
}

export const refOf = (entry: { namespace: string; name: string; version: string }) =>
  `${entry.namespace}/${entry.name}@${entry.version}`;

/** Every component of every namespace: the palette and the job forms read from it. */
export function useCatalog(): Catalog {
  const loaded = useLoad(async (_signal) => {
    const { namespaces } = await api.namespaces();
    const lists = await Promise.all(namespaces.map((namespace) => api.components(namespace)));
    return lists.flatMap((list) => list.components); // every version of each
  }, []);

  return useMemo(() => {
    const entries = loaded.data ?? [];
    const byRef = new Map(entries.map((entry) => [refOf(entry), entry.definition]));
    return {
      entries,
      latest: latestOfEach(entries),
      lookup: (ref: string) => byRef.get(ref),
      versionsOf: (namespace: string, name: string) =>
        newestFirst(entries.filter((entry) => entry.namespace === namespace && entry.name === name)),
      error: loaded.error,
    };
  }, [loaded.data, loaded.error]);
}
