/**
 * The typing session an edit belongs to: the text field that has the focus, or undefined
 * when the edit comes from a click, a drag or a key. The draft's history makes one undo step
 * of the edits of one session; leaving the field (focusout) ends it.
 */
export function typingSession(element: Element | null): Element | undefined {
  if (!element) return undefined;
  // Editable text (the YAML tab's editor) is a text field too.
  const text =
    element.matches("textarea, input:not([type]), input[type=text], input[type=search], input[type=number], input[type=url]") ||
    (element instanceof HTMLElement && element.isContentEditable);
  return text ? element : undefined;
}
