import { createContext, useContext } from "react";
import type { JobDocument } from "../../api/types";

/** What the canvas's nodes may do and show: the designer edits, the run view watches. */
export interface CanvasActions {
  editable: boolean;
  renameStage?: (index: number, name: string) => void;
  moveStage?: (index: number, to: number) => void;
  deleteStage?: (index: number) => void;
  toggleSequencing?: (index: number) => void;
  addAction?: (index: number) => void;
  renameAction?: (stage: number, action: number, name: string) => void;
  stageCount: number;
  jobStates?: ReadonlyMap<string, JobDocument>;
  now?: number;
}

export const CanvasContext = createContext<CanvasActions>({ editable: false, stageCount: 0 });

export const useCanvas = () => useContext(CanvasContext);
