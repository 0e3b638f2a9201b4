// Settings presets: named settings to start a chat from or to fill the settings panel with.
// The site's (defined in the admin) and the user's own come with the page data; the list is
// read again from the server after every save and delete. In the panel: a picker, "Save as
// preset…" (its name asked for in the panel itself) and deleting one of the user's own.

import { urlFor } from "./urls.js";

/** The presets the user is offered, and the API that changes the user's own. */
export class PresetList {
  /** url: the presets address; itemUrl: one preset's ("{id}" for its id). */
  constructor({ presets, url, itemUrl, csrfToken }) {
    this.items = presets || [];
    this.url = url;
    this.itemUrl = itemUrl;
    this.csrfToken = csrfToken;
  }

  find(id) {
    return this.items.find((preset) => String(preset.id) === String(id)) || null;
  }

  /** { ok, status, body } of a request; a failed connection is { ok: false, body: null }. */
  async request(url, { method = "GET", body } = {}) {
    const headers = { Accept: "application/json", "X-CSRFToken": this.csrfToken };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    try {
      const response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
      const data = response.status === 204 ? null : await response.json().catch(() => null);
      return { ok: response.ok, status: response.status, body: data };
    } catch {
      return { ok: false, status: 0, body: null };
    }
  }

  async refresh() {
    const { ok, body } = await this.request(this.url);
    if (ok && Array.isArray(body?.presets)) this.items = body.presets;
  }

  /** Saves the user's preset `name` (replacing one of that name); the list is read again. */
  async save(name, settings) {
    const result = await this.request(this.url, { method: "POST", body: { name, settings } });
    if (result.ok) await this.refresh();
    return result;
  }

  async remove(id) {
    const result = await this.request(urlFor(this.itemUrl, id), { method: "DELETE" });
    if (result.ok || result.status === 404) await this.refresh(); // gone either way
    return result;
  }
}

/**
 * The preset controls of one opening of the settings panel. panel: what they ask of it:
 * apply(preset) fills it with the preset (returns notes on what could not be used), values()
 * the settings it shows (null when one cannot be read; it says so), showError(field, detail)
 * and showProblem(text).
 */
export class PresetControls {
  constructor(dialog, list, panel) {
    this.list = list;
    this.panel = panel;
    const form = dialog.querySelector("form");
    this.picker = form.elements.preset;
    this.deleteButton = form.elements["delete-preset"];
    this.note = dialog.querySelector("#settings-preset-note");
    this.nameRow = dialog.querySelector(".preset-name");
    this.nameInput = form.elements.preset_name;
    this.nameError = dialog.querySelector("#settings-preset_name-error");
    this.openButton = form.elements["open-preset"];
    this.saveButton = form.elements["save-preset"];
    this.busy = false;

    this.render("");
    this.picker.addEventListener("change", () => this.choose());
    this.deleteButton.addEventListener("click", () => this.remove());
    this.openButton.addEventListener("click", () => this.openName());
    form.elements["close-preset"].addEventListener("click", () => this.closeName());
    this.saveButton.addEventListener("click", () => this.save());
    this.nameInput.addEventListener("input", () => this.clearNameError());
    // Enter saves the preset, not the panel; Escape goes back to the panel, not out of it.
    this.nameInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.isComposing) {
        event.preventDefault();
        this.save();
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        this.closeName();
      }
    });
  }

  /** The picker's options: the site's presets, then the user's; `selected` chosen. */
  render(selected) {
    const option = (value, text) => {
      const element = document.createElement("option");
      element.value = value;
      element.textContent = text; // names are the users': text only
      return element;
    };
    const group = (label, presets) => {
      const element = document.createElement("optgroup");
      element.label = label;
      element.append(...presets.map((preset) => option(preset.id, preset.name)));
      return element;
    };
    const site = this.list.items.filter((preset) => preset.site);
    const own = this.list.items.filter((preset) => !preset.site);
    const options = [option("", this.list.items.length ? "Choose a preset…" : "No presets yet")];
    if (site.length) options.push(group("Site-wide", site));
    if (own.length) options.push(group("Yours", own));
    this.picker.replaceChildren(...options);
    this.picker.value = this.list.find(selected) ? String(selected) : "";
    this.labelDelete();
  }

  selected() {
    return this.list.find(this.picker.value);
  }

  labelDelete() {
    const preset = this.selected();
    this.deleteButton.disabled = !preset || preset.site || this.busy;
  }

  say(text) {
    this.note.textContent = text;
  }

  choose() {
    this.labelDelete();
    const preset = this.selected();
    if (!preset) return;
    const notes = this.panel.apply(preset);
    this.say([this.panel.appliedNote(preset.name), ...notes].join(" "));
  }

  openName() {
    this.nameRow.hidden = false;
    this.openButton.hidden = true;
    this.openButton.setAttribute("aria-expanded", "true");
    const preset = this.selected();
    // The user's own preset chosen: its name, to save the changes into it.
    if (!this.nameInput.value && preset && !preset.site) this.nameInput.value = preset.name;
    this.nameInput.focus();
    this.nameInput.select();
  }

  closeName() {
    this.clearNameError();
    this.nameRow.hidden = true;
    this.openButton.hidden = false;
    this.openButton.setAttribute("aria-expanded", "false");
    this.openButton.focus();
  }

  showNameError(text) {
    this.nameError.textContent = text;
    this.nameError.hidden = false;
    this.nameInput.setAttribute("aria-invalid", "true");
    this.nameInput.focus();
  }

  clearNameError() {
    this.nameError.hidden = true;
    this.nameError.textContent = "";
    this.nameInput.removeAttribute("aria-invalid");
  }

  setBusy(busy) {
    this.busy = busy;
    this.saveButton.disabled = busy;
    this.saveButton.textContent = busy ? "Saving…" : "Save preset";
    this.labelDelete();
  }

  async save() {
    if (this.busy) return;
    this.clearNameError();
    const name = this.nameInput.value.trim();
    if (!name) {
      this.showNameError("Give the preset a name.");
      return;
    }
    const settings = this.panel.values();
    if (!settings) return;
    this.setBusy(true);
    try {
      const { ok, status, body } = await this.list.save(name, settings);
      if (ok && body) {
        this.render(body.id);
        this.nameInput.value = "";
        this.closeName();
        this.picker.focus();
        this.say(status === 201 ? `Saved as preset “${body.name}”.` : `Preset “${body.name}” replaced.`);
        return;
      }
      if (body?.code === "bad_settings" && body.field === "name") {
        this.showNameError(body.detail);
        return;
      }
      if (body?.code === "bad_settings" && this.panel.showError(body.field, body.detail)) return;
      this.panel.showProblem(body?.detail || "The preset could not be saved. Please try again.");
    } finally {
      this.setBusy(false);
    }
  }

  async remove() {
    const preset = this.selected();
    if (!preset || preset.site || this.busy) return;
    this.setBusy(true);
    try {
      const { ok, status, body } = await this.list.remove(preset.id);
      if (!ok && status !== 404) {
        this.panel.showProblem(body?.detail || "The preset could not be deleted. Please try again.");
        return;
      }
      this.render("");
      this.say(`Deleted preset “${preset.name}”.`);
      this.picker.focus();
    } finally {
      this.setBusy(false);
    }
  }
}
