import { SHORTCUTS } from "./shortcuts";

/** The list `?` opens; Esc, Close or a click beside it closes it. */
export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <div className="dialog-backdrop" onClick={onClose}>
      <div
        className="dialog shortcuts"
        role="dialog"
        aria-modal="true"
        aria-label="Keyboard shortcuts"
        data-testid="shortcuts"
        data-own-keys
        onClick={(event) => event.stopPropagation()}
        onKeyDown={(event) => {
          if (event.key === "Escape") onClose();
        }}
      >
        <h2>Keyboard shortcuts</h2>
        <table>
          <tbody>
            {SHORTCUTS.map((shortcut) => (
              <tr key={shortcut.keys}>
                <td>
                  <kbd>{shortcut.keys}</kbd>
                </td>
                <td>{shortcut.what}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted">Ctrl+S works in a text field too; the other keys act when the focus is not in one.</p>
        <div className="dialog-buttons">
          <button autoFocus onClick={onClose}>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}
