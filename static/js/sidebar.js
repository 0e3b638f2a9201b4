// The conversation list: grouped by date (Today, Yesterday, Previous 7 days, Older), with
// rename, delete and search by title and content. On a phone it slides in behind a button.
//
// From the keyboard each conversation is one Tab stop, its link: its rename and delete are in
// a menu behind a button beside it (→ from the link, or Shift+F10; ↑ ↓ move between
// conversations), so Tab crosses the list quickly on the way to the composer.

import { button, element, iconButton } from "./dom.js";
import { Menu } from "./menu.js";
import { urlFor } from "./urls.js";

const GROUPS = ["Today", "Yesterday", "Previous 7 days", "Older"];
const SEARCH_DELAY_MS = 200;
const DAY_MS = 24 * 60 * 60 * 1000;

const DOTS = "M5 12h.01M12 12h.01M19 12h.01";

/** Which group a date falls in, counted in the reader's own calendar days. */
export function groupOf(date, now = new Date()) {
  const midnight = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((midnight(now) - midnight(date)) / DAY_MS);
  if (days <= 0) return GROUPS[0];
  if (days === 1) return GROUPS[1];
  if (days <= 7) return GROUPS[2];
  return GROUPS[3];
}

export class Sidebar {
  constructor(parts) {
    const { app, nav, list, search, openButton, closeButton, scrim } = parts;
    const { urls, csrfToken, current, conversations, onRenamed } = parts;
    this.app = app;
    this.nav = nav;
    this.list = list;
    this.searchInput = search.elements.q;
    this.urls = urls; // the page data's: home, search, conversation, rename, delete
    this.openButton = openButton;
    this.scrim = scrim;
    this.csrfToken = csrfToken;
    this.current = current;
    this.onRenamed = onRenamed;
    this.conversations = conversations.map((c) => ({ ...c, updated: new Date(c.updated_at) }));
    this.deleting = new Set(); // conversations this page asked to delete
    this.searchTimer = 0;
    this.searchAbort = null;

    search.addEventListener("submit", (event) => {
      event.preventDefault();
      this.search(true);
    });
    this.searchInput.addEventListener("input", () => this.search(false));
    this.searchInput.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.searchInput.value) {
        event.stopPropagation();
        this.searchInput.value = "";
        this.search(true);
      }
    });
    openButton.addEventListener("click", () => this.open());
    closeButton.addEventListener("click", () => this.close());
    scrim.addEventListener("click", () => this.close());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.isOpen) this.close();
    });
    this.render();
  }

  // The list ---------------------------------------------------------------------------------

  render() {
    if (this.searchInput.value.trim()) return; // search results are showing
    const groups = new Map(GROUPS.map((name) => [name, []]));
    const sorted = [...this.conversations].sort((a, b) => b.updated - a.updated);
    for (const c of sorted) groups.get(groupOf(c.updated)).push(c);
    const sections = [];
    for (const [name, items] of groups) {
      if (!items.length) continue;
      const section = element("section", "conversation-group");
      const heading = element("h2", "group-title", name);
      const list = element("ul", "conversations");
      for (const c of items) list.append(this.item(c));
      section.append(heading, list);
      sections.push(section);
    }
    if (!sections.length) sections.push(element("p", "sidebar-empty", "No conversations yet."));
    this.list.replaceChildren(...sections);
  }

  item(c) {
    const li = element("li", "conversation");
    li.dataset.conversationId = c.id;
    const link = element("a", "conversation-link", c.title);
    link.href = urlFor(this.urls.conversation, c.id);
    link.title = c.title;
    if (c.id === this.current) link.setAttribute("aria-current", "page");
    const opener = iconButton(`Options for “${c.title}”`, DOTS, () => {});
    opener.classList.add("item-menu-button");
    opener.tabIndex = -1; // reached from the link (→), so that each conversation is one Tab stop
    const menu = new Menu(opener, `Options for “${c.title}”`, [
      { label: "Rename", action: () => this.startRename(li, c) },
      { label: "Delete", action: () => this.confirmDelete(li, c), className: "danger-item" },
    ]);
    link.addEventListener("keydown", (event) => this.onLinkKey(event, link, menu));
    opener.addEventListener("keydown", (event) => {
      if (event.key === "ArrowLeft") {
        event.preventDefault();
        link.focus();
      }
    });
    const actions = element("div", "item-actions");
    actions.append(opener, menu.element);
    li.append(link, actions);
    return li;
  }

  /** → opens the way to the entry's menu; Shift+F10 (or the menu key) opens it; ↑ ↓ Home End
   *  move between conversations. */
  onLinkKey(event, link, menu) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowRight") {
      event.preventDefault();
      menu.button.focus();
    } else if (event.key === "ContextMenu" || (event.key === "F10" && event.shiftKey)) {
      event.preventDefault();
      menu.open();
    } else if (["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) {
      const links = [...this.list.querySelectorAll(".conversation-link")];
      const at = links.indexOf(link);
      const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: links.length - 1 }[event.key];
      if (links[to]) {
        event.preventDefault();
        links[to].focus();
      }
    }
  }

  /** Another title for conversation `id` (the model named it): shown wherever it is listed. */
  retitle(id, title) {
    const found = this.conversations.find((c) => c.id === id);
    if (!found || found.title === title) return;
    found.title = title;
    this.refresh();
  }

  focusItem(id) {
    this.list.querySelector(`[data-conversation-id="${id}"] .conversation-link`)?.focus();
  }

  /** Focus the search box (Ctrl/⌘+K), opening the list first on a phone. */
  focusSearch() {
    if (getComputedStyle(this.openButton).display !== "none" && !this.isOpen) this.open();
    this.searchInput.focus();
    this.searchInput.select();
  }

  /**
   * A conversation just started or written to: it goes to the top (a new one with `title`).
   * `current`: it is the one this page shows (false for one written to in another tab).
   */
  touch({ id, title }, { current = true } = {}) {
    const found = this.conversations.find((c) => c.id === id);
    if (found) {
      found.updated = new Date();
    } else {
      this.conversations.push({ id, title, updated: new Date() });
    }
    if (current) this.current = id;
    this.refresh();
  }

  // What the user's other tabs did -------------------------------------------------------------

  /** A conversation started in another tab. */
  add({ id, title, updated_at: updatedAt }) {
    if (this.conversations.some((c) => c.id === id)) return;
    const updated = updatedAt ? new Date(updatedAt) : new Date();
    this.conversations.push({ id, title, updated });
    this.refresh();
  }

  /** A conversation deleted in another tab (or by this one: then it is gone already). */
  remove(id) {
    const before = this.conversations.length;
    this.conversations = this.conversations.filter((c) => c.id !== id);
    if (this.conversations.length !== before) this.refresh();
  }

  /** Whether this page deleted conversation `id` itself. */
  deletedHere(id) {
    return this.deleting.has(id);
  }

  /**
   * The list drawn again, keeping the keyboard's place; not while a rename or a delete is
   * being confirmed in it, which draws the list again when it ends.
   */
  refresh() {
    if (this.list.querySelector(".rename, .confirm-delete")) return;
    const focused = document.activeElement?.closest?.(".conversation")?.dataset.conversationId;
    this.render();
    if (focused) this.focusItem(Number(focused));
  }

  // Rename -----------------------------------------------------------------------------------

  startRename(li, c) {
    const form = element("form", "rename");
    const input = element("input");
    input.name = "title";
    input.value = c.title;
    input.maxLength = 200;
    input.setAttribute("aria-label", "New title");
    form.append(input);
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (save && title && title !== c.title) {
        const renamed = await this.post(urlFor(this.urls.rename, c.id), { title });
        if (renamed) {
          c.title = renamed.title;
          if (c.id === this.current) this.onRenamed?.(renamed.title);
        }
      }
      this.render();
      this.list.querySelector(`[data-conversation-id="${c.id}"] .conversation-link`)?.focus();
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      finish(true);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener("blur", () => finish(true));
    li.replaceChildren(form);
    input.focus();
    input.select();
  }

  // Delete -----------------------------------------------------------------------------------

  confirmDelete(li, c) {
    const box = element("div", "confirm-delete");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", `Delete “${c.title}”?`);
    const question = element("span", "", "Delete this conversation?");
    const yes = button("Delete", "danger small", () => this.delete(c));
    const no = button("Cancel", "small", () => {
      this.render();
      this.list.querySelector(`[data-conversation-id="${c.id}"] .conversation-link`)?.focus();
    });
    box.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.stopPropagation();
        no.click();
      }
    });
    box.append(question, yes, no);
    li.replaceChildren(box);
    no.focus();
  }

  async delete(c) {
    this.deleting.add(c.id);
    const deleted = await this.post(urlFor(this.urls.delete, c.id), {});
    if (!deleted) {
      this.deleting.delete(c.id);
      return;
    }
    this.conversations = this.conversations.filter((other) => other.id !== c.id);
    if (c.id === this.current) {
      location.assign(this.urls.home);
      return;
    }
    this.render();
  }

  async post(url, fields) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "X-CSRFToken": this.csrfToken, Accept: "application/json" },
        body: new URLSearchParams(fields),
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`${response.status}`);
      return await response.json();
    } catch {
      this.showProblem("That did not work. Please try again.");
      return null;
    }
  }

  showProblem(text) {
    const problem = element("p", "sidebar-problem", text);
    problem.setAttribute("role", "alert");
    this.list.prepend(problem);
  }

  // Search -----------------------------------------------------------------------------------

  search(now) {
    clearTimeout(this.searchTimer);
    const query = this.searchInput.value.trim();
    if (!query) {
      this.searchAbort?.abort();
      this.render();
      return;
    }
    this.searchTimer = setTimeout(() => this.runSearch(query), now ? 0 : SEARCH_DELAY_MS);
  }

  async runSearch(query) {
    this.searchAbort?.abort();
    const abort = new AbortController();
    this.searchAbort = abort;
    let data;
    try {
      const url = `${this.urls.search}?${new URLSearchParams({ q: query })}`;
      const headers = { Accept: "application/json" };
      const response = await fetch(url, { headers, signal: abort.signal });
      if (!response.ok) throw new Error(`${response.status}`);
      data = await response.json();
    } catch (error) {
      if (error.name !== "AbortError") this.showResults(query, null);
      return;
    }
    if (this.searchInput.value.trim() === query) this.showResults(query, data.results);
  }

  showResults(query, results) {
    const section = element("section", "search-results");
    section.setAttribute("aria-label", `Conversations matching “${query}”`);
    if (results === null) {
      section.append(element("p", "sidebar-empty", "Search failed. Please try again."));
    } else if (!results.length) {
      section.append(element("p", "sidebar-empty", "No conversations match."));
    } else {
      const heading = element("h2", "group-title", `${results.length} found`);
      const list = element("ul", "conversations");
      for (const r of results) {
        const li = element("li", "conversation result");
        li.dataset.conversationId = r.id;
        const link = element("a", "conversation-link");
        link.href = urlFor(this.urls.conversation, r.id);
        link.append(element("span", "result-title", r.title));
        if (r.snippet) link.append(element("span", "result-snippet", r.snippet));
        if (r.id === this.current) link.setAttribute("aria-current", "page");
        li.append(link);
        list.append(li);
      }
      section.append(heading, list);
    }
    this.list.replaceChildren(section);
  }

  // On a phone -------------------------------------------------------------------------------

  get isOpen() {
    return this.app.classList.contains("sidebar-open");
  }

  open() {
    this.app.classList.add("sidebar-open");
    this.scrim.hidden = false;
    this.openButton.setAttribute("aria-expanded", "true");
    this.nav.querySelector(".new-chat")?.focus();
  }

  close() {
    if (!this.isOpen) return;
    this.app.classList.remove("sidebar-open");
    this.scrim.hidden = true;
    this.openButton.setAttribute("aria-expanded", "false");
    this.openButton.focus();
  }
}
