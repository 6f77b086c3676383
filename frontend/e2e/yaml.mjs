// The designer's YAML tab as a user works it: open the tab, read the text, replace it,
// type into it. The editor is a code editor (an editable text box, not a textarea), so the
// tests read what it shows and write through the keyboard, as a user would.

/** Opens the YAML tab and waits for its editor (loaded on the tab's first visit). */
export async function openYamlTab(page) {
  await page.getByRole("tab", { name: "YAML" }).click();
  const editor = page.getByTestId("yaml-editor");
  await editor.waitFor();
  return editor;
}

/** The text the editor shows: its children are its lines (all drawn, for the short documents of the tests). */
export async function yamlText(page) {
  return page
    .getByTestId("yaml-editor")
    .evaluate((element) => [...element.children].map((line) => line.textContent.replace(/\u00a0/g, " ")).join("\n"));
}

/** Replaces the whole text, as a paste would. */
export async function setYamlText(page, text) {
  const editor = page.getByTestId("yaml-editor");
  await editor.click();
  await page.keyboard.press("ControlOrMeta+a");
  await page.keyboard.insertText(text);
}
