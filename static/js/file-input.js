// The ways files reach the composer: the attach button's file picker, a paste into the message
// box (files and images; a long text too, as a text file, which would flood the box), and a
// drop anywhere on the page, which shows where they go while they are dragged over it.

const PASTED_TEXT = "Pasted text.txt";

/**
 * picker: the file input the button opens. textbox: where pastes are caught. dropTarget:
 * shown while files are dragged over the page. pasteAsFileChars: a pasted text longer than
 * this becomes a file. accepting(): whether files can be taken now. onFiles([File]): files came.
 */
export function takeFiles(parts) {
  const { button, picker, textbox, dropTarget, pasteAsFileChars, accepting, onFiles } = parts;
  button.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    const files = [...picker.files];
    picker.value = ""; // picking the same file again is a change too
    if (files.length) onFiles(files);
  });

  textbox.addEventListener("paste", (event) => {
    const clipboard = event.clipboardData;
    if (!clipboard || !accepting()) return;
    const files = [...clipboard.files];
    if (files.length) {
      event.preventDefault();
      onFiles(files);
      return;
    }
    const text = clipboard.getData("text/plain");
    if (pasteAsFileChars && text.length > pasteAsFileChars) {
      event.preventDefault();
      onFiles([new File([text], PASTED_TEXT, { type: "text/plain" })]);
    }
  });

  // dragenter and dragleave come for every element crossed: the target stays up until as many
  // leaves as enters have come (or the files are dropped).
  let depth = 0;
  const carriesFiles = (event) => event.dataTransfer?.types.includes("Files");
  document.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event) || !accepting()) return;
    event.preventDefault();
    depth += 1;
    dropTarget.hidden = false;
  });
  document.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    // Without this the browser opens a file dropped on the page in place of the chat.
    event.preventDefault();
    event.dataTransfer.dropEffect = accepting() ? "copy" : "none";
  });
  document.addEventListener("dragleave", (event) => {
    if (!carriesFiles(event)) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) dropTarget.hidden = true;
  });
  document.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth = 0;
    dropTarget.hidden = true;
    const files = [...event.dataTransfer.files];
    if (files.length && accepting()) onFiles(files);
  });
}
