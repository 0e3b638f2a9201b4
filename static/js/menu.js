// A menu button (the WAI-ARIA menu button pattern): a button with aria-haspopup="menu" and
// aria-expanded, and a role="menu" list of role="menuitem" buttons below it. Enter, Space or ↓
// on the button open it on its first item (↑ on its last); ↑ ↓ Home End move through the items,
// Escape closes it and gives the focus back to the button, Tab or a click elsewhere closes it.

import { button, element } from "./dom.js";

let menus = 0; // for the ids that tie a button to its menu

export class Menu {
  /** items: [{label, action, className}]; `label` names the menu for assistive technology. */
  constructor(opener, label, items) {
    this.button = opener;
    this.element = element("div", "menu");
    this.element.id = `menu-${++menus}`;
    this.element.setAttribute("role", "menu");
    this.element.setAttribute("aria-label", label);
    this.element.hidden = true;
    this.items = items.map(({ label: text, action, className }) => {
      const item = button(text, `menu-item ${className || ""}`.trim(), () => {
        this.close(false);
        action();
      });
      item.setAttribute("role", "menuitem");
      item.tabIndex = -1;
      return item;
    });
    // The items are in the page only while the menu is open: a closed menu adds nothing to
    // the text of what holds it (a conversation's entry reads as its title alone).
    opener.setAttribute("aria-haspopup", "menu");
    opener.setAttribute("aria-expanded", "false");
    opener.setAttribute("aria-controls", this.element.id);
    opener.addEventListener("click", () => (this.isOpen ? this.close(true) : this.open()));
    opener.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.open(event.key === "ArrowUp" ? this.items.length - 1 : 0);
      }
    });
    this.element.addEventListener("keydown", (event) => this.onKey(event));
    this.element.addEventListener("focusout", (event) => {
      if (this.isOpen && !this.element.contains(event.relatedTarget)
          && event.relatedTarget !== opener) this.close(false);
    });
    this.outside = (event) => {
      if (!this.element.contains(event.target) && !opener.contains(event.target)) {
        this.close(false);
      }
    };
  }

  get isOpen() {
    return !this.element.hidden;
  }

  open(index = 0) {
    this.element.replaceChildren(...this.items);
    this.element.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.button.closest("li")?.classList.add("menu-open");
    document.addEventListener("pointerdown", this.outside, true);
    this.items[index]?.focus();
  }

  /** Closes the menu; `refocus` gives the focus back to its button. */
  close(refocus) {
    if (!this.isOpen) return;
    this.element.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    this.button.closest("li")?.classList.remove("menu-open");
    if (refocus) this.button.focus();
    this.element.replaceChildren();
    document.removeEventListener("pointerdown", this.outside, true);
  }

  onKey(event) {
    const at = this.items.indexOf(document.activeElement);
    const last = this.items.length - 1;
    const moves = { ArrowDown: at >= last ? 0 : at + 1, ArrowUp: at <= 0 ? last : at - 1,
      Home: 0, End: last };
    if (event.key in moves) {
      event.preventDefault();
      this.items[moves[event.key]].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the page's Escape (stop, close the list) is not for this
      this.close(true);
    } else if (event.key === "Tab") {
      this.close(false);
    }
  }
}
