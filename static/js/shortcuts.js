// The page's keyboard shortcuts, and the sheet (a <dialog>) that lists them, opened with "?".
//
// They follow ChatGPT's where it has one, so hands that know one know the other, and stay off
// what browsers keep for themselves (Ctrl/⌘+T, N, W, L, Tab…): a page may take Ctrl/⌘+Shift+O
// and Ctrl/⌘+K, and does so only while it has the focus.
//
//   Ctrl/⌘+Shift+O   new chat
//   Shift+Esc or /   the message box ("/" only outside a text field)
//   Ctrl/⌘+K         search chats
//   Esc              stop the answer being written (in the message box: composer.js has it)
//   Ctrl/⌘+Shift+C   copy the last answer
//   ? or Ctrl/⌘+/    this sheet ("?" only outside a text field)

const MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

/** Whether keys typed at `target` are text: "?" and "/" are then the reader's own. */
function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (!(target instanceof HTMLInputElement)) return false;
  return !["button", "checkbox", "radio", "submit", "reset", "range", "color"].includes(
    target.type,
  );
}

export class Shortcuts {
  /**
   * dialog: the sheet. actions: newChat(), focusComposer(), search(), copyLastAnswer().
   */
  constructor({ dialog, actions }) {
    this.dialog = dialog;
    this.actions = actions;
    if (MAC) {
      for (const key of dialog.querySelectorAll("kbd[data-mod]")) key.textContent = "⌘";
    }
    dialog.querySelector("[data-close]")?.addEventListener("click", () => dialog.close());
    // A click on the backdrop (outside the sheet's box) closes it too.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    document.addEventListener("keydown", (event) => this.onKey(event));
  }

  onKey(event) {
    if (event.defaultPrevented || event.isComposing) return;
    const mod = MAC ? event.metaKey : event.ctrlKey;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    const open = this.dialog.open;
    let done = true;
    if (mod && event.shiftKey && !event.altKey && (key === "o" || event.code === "KeyO")) {
      this.actions.newChat();
    } else if (mod && !event.shiftKey && !event.altKey && (key === "k" || event.code === "KeyK")) {
      this.closeSheet();
      this.actions.search();
    } else if (mod && event.shiftKey && !event.altKey && (key === "c" || event.code === "KeyC")) {
      this.actions.copyLastAnswer();
    } else if (mod && !event.altKey && (key === "/" || event.code === "Slash")) {
      this.toggleSheet();
    } else if (event.key === "Escape" && event.shiftKey && !mod) {
      this.closeSheet();
      this.actions.focusComposer();
    } else if (mod || event.altKey || typing(event.target) || open) {
      done = false;
    } else if (key === "?") {
      this.openSheet();
    } else if (key === "/") {
      this.actions.focusComposer();
    } else {
      done = false;
    }
    if (done) event.preventDefault();
  }

  openSheet() {
    if (!this.dialog.open) this.dialog.showModal();
  }

  closeSheet() {
    if (this.dialog.open) this.dialog.close();
  }

  toggleSheet() {
    if (this.dialog.open) this.dialog.close();
    else this.dialog.showModal();
  }
}
