/** Asked before the designer is left with unsaved changes: save them, drop them, or stay. */
export function LeaveDialog(props: { saving: boolean; onSaveAndLeave: () => void; onLeave: () => void; onStay: () => void }) {
  const { saving, onSaveAndLeave, onLeave, onStay } = props;
  return (
    <div className="dialog-backdrop">
      <div
        className="dialog"
        role="alertdialog"
        aria-modal="true"
        aria-label="Unsaved changes"
        data-testid="leave-dialog"
        data-own-keys
        onKeyDown={(event) => {
          if (event.key === "Escape") onStay();
        }}
      >
        <h2>Unsaved changes</h2>
        <p>This workflow has changes that are not saved. Leaving now loses them.</p>
        <div className="dialog-buttons">
          <button autoFocus onClick={onStay} data-testid="leave-stay">
            Stay
          </button>
          <button className="danger" onClick={onLeave} data-testid="leave-discard">
            Leave without saving
          </button>
          <button className="primary" onClick={onSaveAndLeave} disabled={saving} data-testid="leave-save">
            Save and leave
          </button>
        </div>
      </div>
    </div>
  );
}
