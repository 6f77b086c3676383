// The YAML tab's text editor: CodeMirror 6 set up for workflow definitions (line numbers,
// YAML highlighting, its own undo history, search, folding, marks in the gutter and under
// the text with the message on hover), in the app's colours. YamlTab loads this module with
// `import()`, so the designer's first render does not carry CodeMirror: only a visit to the
// YAML tab does.
//
// Decisions: CodeMirror 6 rather than Monaco: it is a few hundred kB instead of several MB,
// is built from small modules the bundler takes only what it uses of, runs without web
// workers and so works offline from the same build, and its DOM is plain text the
// end-to-end tests can drive. Colours are the app's CSS variables, so one theme follows
// `prefers-color-scheme`; CodeMirror's own light/dark switch (for what the variables do not
// cover, such as the search panel's buttons) follows the same media query. Tab indents (two
// spaces: YAML has no tabs); Escape then Tab moves the focus on, as CodeMirror provides.
// Every key the editor handles stays in the editor (`data-own-keys`): Ctrl+Z undoes text.
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { bracketMatching, foldGutter, foldKeymap, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { highlightSelectionMatches, search, searchKeymap } from "@codemirror/search";
import { Compartment, EditorState } from "@codemirror/state";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { tags } from "@lezer/highlight";
import type { YamlMark } from "../../graph/yamlLines";

export interface YamlEditor {
  /** Shows marks computed on `text`; ignored when the editor holds another text by now. */
  showMarks: (text: string, marks: readonly YamlMark[]) => void;
  /** Replaces the whole text (an edit made outside it), as a step of the editor's undo. */
  replaceText: (text: string) => void;
  /** Puts the cursor at the start of a line, scrolled into view, with the focus. */
  goToLine: (line: number) => void;
  destroy: () => void;
}

export interface YamlEditorOptions {
  text: string;
  label: string;
  onText: (text: string) => void;
}

// Token classes of our own (YamlTab.css colours them) rather than generated ones.
const highlighting = HighlightStyle.define([
  { tag: tags.definition(tags.propertyName), class: "yaml-key" },
  { tag: [tags.string, tags.special(tags.string), tags.attributeValue], class: "yaml-string" },
  { tag: [tags.lineComment, tags.comment], class: "yaml-comment" },
  { tag: [tags.labelName, tags.typeName, tags.keyword], class: "yaml-tag" },
  { tag: [tags.separator, tags.meta, tags.punctuation], class: "yaml-punctuation" },
]);

const theme = EditorView.theme({
  "&": { height: "100%", backgroundColor: "var(--surface)", color: "var(--text)", fontSize: "12px" },
  ".cm-scroller": { fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace', lineHeight: "1.5" },
  ".cm-content": { caretColor: "var(--text)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--text)" },
  ".cm-gutters": { backgroundColor: "var(--surface-2)", color: "var(--muted)", borderRight: "1px solid var(--border)" },
  ".cm-activeLine": { backgroundColor: "color-mix(in srgb, var(--accent) 6%, transparent)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--surface-3)", color: "var(--text)" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection": {
    backgroundColor: "var(--info-bg)",
  },
  ".cm-selectionMatch": { backgroundColor: "var(--surface-3)" },
  ".cm-searchMatch": { backgroundColor: "var(--warn-bg)", outline: "1px solid var(--warn)" },
  ".cm-searchMatch.cm-searchMatch-selected": { backgroundColor: "var(--info-bg)", outline: "1px solid var(--accent)" },
  "&.cm-focused .cm-matchingBracket": { backgroundColor: "var(--ok-bg)", outline: "1px solid var(--ok)" },
  "&.cm-focused .cm-nonmatchingBracket": { backgroundColor: "var(--bad-bg)" },
  ".cm-foldPlaceholder": { backgroundColor: "var(--surface-2)", border: "1px solid var(--border)", color: "var(--muted)" },
  ".cm-panels": { backgroundColor: "var(--surface-2)", color: "var(--text)" },
  ".cm-panels.cm-panels-top": { borderBottom: "1px solid var(--border)" },
  ".cm-panel input, .cm-panel button": { color: "var(--text)" },
  ".cm-textfield": { backgroundColor: "var(--surface)", border: "1px solid var(--border)" },
  ".cm-button": { backgroundImage: "none", backgroundColor: "var(--surface)", border: "1px solid var(--border)" },
  ".cm-tooltip": { backgroundColor: "var(--surface)", color: "var(--text)", border: "1px solid var(--border)" },
  ".cm-diagnostic-error": { borderLeft: "5px solid var(--bad)" },
  ".cm-lintRange-error": {
    backgroundImage: "none",
    textDecoration: "underline wavy var(--bad)",
    textDecorationSkipInk: "none",
    textUnderlineOffset: "3px",
  },
  ".cm-lintRange-active": { backgroundColor: "var(--bad-bg)" },
  ".cm-lintPoint:after": { borderBottomColor: "var(--bad)" },
  ".cm-lint-marker-error": { content: "normal", borderRadius: "50%", backgroundColor: "var(--bad)", transform: "scale(0.7)" },
});

const diagnosticOf = (mark: YamlMark): Diagnostic => ({
  from: mark.from,
  to: mark.to,
  severity: "error",
  message: mark.message,
  source: mark.source === "check" ? `Check: ${mark.path || "the workflow"}` : "YAML",
  markClass: "yaml-mark",
});

export function createYamlEditor(parent: HTMLElement, options: YamlEditorOptions): YamlEditor {
  const dark = typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : undefined;
  const scheme = new Compartment();
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.text,
      extensions: [
        lineNumbers(),
        foldGutter(),
        lintGutter(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        search({ top: true }),
        yaml(),
        syntaxHighlighting(highlighting),
        keymap.of([...defaultKeymap, ...historyKeymap, ...searchKeymap, ...foldKeymap, indentWithTab]),
        scheme.of(EditorView.darkTheme.of(dark?.matches ?? false)),
        theme,
        EditorView.contentAttributes.of({ "aria-label": options.label, "data-testid": "yaml-editor", spellcheck: "false" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onText(update.state.doc.toString());
        }),
      ],
    }),
  });
  const followScheme = (event: MediaQueryListEvent) =>
    view.dispatch({ effects: scheme.reconfigure(EditorView.darkTheme.of(event.matches)) });
  dark?.addEventListener("change", followScheme);

  return {
    showMarks: (text, marks) => {
      if (view.state.doc.toString() !== text) return; // a newer text's marks are on their way
      view.dispatch(setDiagnostics(view.state, marks.map(diagnosticOf)));
    },
    replaceText: (text) => {
      if (view.state.doc.toString() !== text) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    goToLine: (line) => {
      const target = view.state.doc.line(Math.max(1, Math.min(line, view.state.doc.lines)));
      view.dispatch({ selection: { anchor: target.from }, effects: EditorView.scrollIntoView(target.from, { y: "center" }) });
      view.focus();
    },
    destroy: () => {
      dark?.removeEventListener("change", followScheme);
      view.destroy();
    },
  };
}
