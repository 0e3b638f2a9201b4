// The conversation's settings panel: a dialog with its instructions (the system prompt), model,
// temperature, top p, maximum output tokens, reasoning effort and tools.
//
// The model, the effort and the tools live in the composer's controls (they go out with every
// send): the panel shows them when it opens and puts them back on Save. The other settings live
// here. An open conversation saves them with a PUT of the fields changed; a new chat keeps them
// until its first message, which carries them as `settings`.
//
// A preset (presets.js) chosen in the panel fills its fields; on a new chat it is kept at
// once, in the composer and for the first message, as Save would keep it.

import { PresetControls } from "./presets.js";
import { urlFor } from "./urls.js";

// The panel's own settings, held here; the composer holds the rest.
const OWN = ["system_prompt", "temperature", "top_p", "max_output_tokens"];
const FIELDS = [...OWN, "model", "reasoning_effort", "tools"];
const EMPTY = { system_prompt: "", temperature: null, top_p: null, max_output_tokens: null };

function same(a, b) {
  return Array.isArray(a) ? [...a].sort().join("\n") === [...b].sort().join("\n") : a === b;
}

export class SettingsPanel {
  /**
   * dialog: the <dialog>; form: the <template> of its form; openButton opens it. composer: the
   * Composer. settings: the page data's for the conversation shown (null for a new chat);
   * defaults: its settings_defaults. conversation(): the id of the open conversation (null on
   * a new chat). url: the settings address ("{id}" for the conversation). presets: the
   * PresetList.
   */
  constructor({ dialog, form, openButton, composer, settings, defaults, conversation, url, csrfToken, presets }) {
    this.dialog = dialog;
    this.template = form; // the panel's form, made afresh each time it opens
    this.openButton = openButton;
    this.composer = composer;
    this.defaults = defaults || {};
    this.conversation = conversation;
    this.url = url;
    this.csrfToken = csrfToken;
    this.presets = presets;
    this.saved = { ...EMPTY, ...settings }; // the panel's own settings as they stand
    this.pending = {}; // a new chat's settings changed here, for its first message
    this.shown = null; // what the panel showed when it opened
    this.base = null; // what it showed before presets were chosen, since the last edit
    this.saving = false;

    openButton.addEventListener("click", () => this.open());
    // Escape (the dialog's cancel) and Cancel both close it; the focus goes back to the button.
    // Closed, it holds no controls: the page's only model, effort and tool controls are then
    // the composer's.
    dialog.addEventListener("close", () => {
      this.dialog.replaceChildren();
      this.form = null;
      this.openButton.focus();
    });
  }

  /** The panel's form, its events, and the composer's choices copied into it. */
  build() {
    this.dialog.replaceChildren(this.template.content.cloneNode(true));
    this.form = this.dialog.querySelector("form");
    this.scope = this.dialog.querySelector(".settings-scope");
    this.problem = this.dialog.querySelector(".settings-problem");
    this.tokensHint = this.dialog.querySelector("#settings-max_output_tokens-hint");
    this.copyChoices();
    this.form.elements.cancel.addEventListener("click", () => this.dialog.close());
    this.form.elements.model.addEventListener("change", () => this.labelTokens());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    this.form.addEventListener("input", (event) => {
      // An edit of the reader's own: the next preset chosen goes over it.
      if (FIELDS.includes(event.target.name)) this.base = null;
      this.clearError(event.target.name);
    });
    this.presetControls = new PresetControls(this.dialog, this.presets, {
      apply: (preset) => this.applyPreset(preset),
      appliedNote: (name) =>
        this.conversation() ? `“${name}” is filled in: Save to use it here.` : `“${name}” is set for this new chat.`,
      values: () => this.presetValues(),
      showError: (name, detail) => this.showError(name, detail),
      showProblem: (text) => this.showProblem(text),
    });
  }

  /** The model, effort and tool choices are the composer's own options, copied. */
  copyChoices() {
    const copy = (from, to) => to.replaceChildren(...[...from.children].map((n) => n.cloneNode(true)));
    copy(this.composer.select, this.form.elements.model);
    copy(this.composer.effortSelect, this.form.elements.reasoning_effort);
    for (const option of this.form.elements.reasoning_effort.options) {
      option.textContent = option.textContent.replace(/^Reasoning: /, "");
    }
    const list = this.dialog.querySelector(".settings-tool-list");
    const labels = [...this.composer.toolsBox.querySelectorAll("label")];
    list.replaceChildren(...labels.map((label) => label.cloneNode(true)));
  }

  open() {
    if (this.dialog.open) return;
    this.build();
    const values = { ...this.saved, ...this.pending, ...this.composer.settings() };
    this.fill(values);
    this.shown = this.read();
    this.base = null;
    this.scope.textContent = this.conversation()
      ? "For this conversation."
      : "For this new chat, from its first message on.";
    this.form.elements.system_prompt.placeholder = this.defaults.default_system_prompt || "";
    this.dialog.showModal();
    this.form.elements.system_prompt.focus();
  }

  fill(values) {
    const fields = this.form.elements;
    fields.system_prompt.value = values.system_prompt || "";
    fields.model.value = values.model;
    for (const name of ["temperature", "top_p", "max_output_tokens"]) {
      fields[name].value = values[name] ?? "";
    }
    fields.reasoning_effort.value = values.reasoning_effort;
    for (const box of this.toolBoxes()) box.checked = values.tools.includes(box.value);
    this.labelTokens();
  }

  toolBoxes() {
    return [...this.form.querySelectorAll("input[name=tools]")];
  }

  /** The settings as the panel shows them; an empty number is the default (null). */
  read() {
    const fields = this.form.elements;
    const number = (input) => (input.value === "" ? null : Number(input.value));
    return {
      system_prompt: fields.system_prompt.value,
      model: fields.model.value,
      temperature: number(fields.temperature),
      top_p: number(fields.top_p),
      max_output_tokens: number(fields.max_output_tokens),
      reasoning_effort: fields.reasoning_effort.value,
      tools: this.toolBoxes().filter((box) => box.checked).map((box) => box.value),
    };
  }

  /** The maximum output tokens: the model's default as the placeholder, the ceiling as max. */
  labelTokens() {
    const input = this.form.elements.max_output_tokens;
    const byModel = this.defaults.max_output_tokens_by_model || {};
    const fallback = byModel[this.form.elements.model.value];
    const ceiling = this.defaults.max_output_tokens_ceiling;
    input.placeholder = fallback != null ? String(fallback) : "Default";
    if (ceiling != null) input.max = String(ceiling);
    else input.removeAttribute("max");
    const parts = [];
    if (fallback != null) parts.push(`Empty: the model's default, ${fallback}.`);
    if (ceiling != null) parts.push(`At most ${ceiling}.`);
    this.tokensHint.textContent = parts.join(" ");
  }

  /** True after saying which number field holds what is not a number. */
  unreadable() {
    const name = ["temperature", "top_p", "max_output_tokens"].find(
      (field) => this.form.elements[field].validity.badInput,
    );
    if (name) this.showError(name, "Enter a number, or leave it empty for the default.");
    return Boolean(name);
  }

  /**
   * Fills the fields with `preset`'s settings over what they showed before presets were
   * chosen (so choosing one after another does not mix them); a new chat keeps them at once.
   * Returns notes on what of it is not offered here.
   */
  applyPreset(preset) {
    this.base ??= this.read();
    const { model, tools, ...rest } = preset.settings;
    const values = { ...this.base, ...rest };
    const notes = [];
    if (model !== undefined) {
      if ([...this.form.elements.model.options].some((option) => option.value === model)) values.model = model;
      else notes.push(`Its model, ${model}, is not offered here.`);
    }
    if (tools !== undefined) {
      const offered = this.toolBoxes().map((box) => box.value);
      values.tools = tools.filter((name) => offered.includes(name));
    }
    this.clearErrors();
    this.fill(values);
    if (!this.conversation()) this.keepForNewChat();
    return notes;
  }

  /** A new chat takes what the panel shows: the composer's part, and the rest pending. */
  keepForNewChat() {
    const values = this.read();
    for (const name of OWN) {
      if (same(values[name], this.saved[name])) delete this.pending[name];
      else this.pending[name] = values[name];
    }
    this.composer.applySettings(values);
    this.shown = values;
  }

  /**
   * What "Save as preset" keeps: every setting shown, but empty instructions, which stand for
   * the site's default (a preset leaves the instructions as they are then). Null when a
   * number cannot be read.
   */
  presetValues() {
    this.clearErrors();
    if (this.unreadable()) return null;
    const values = this.read();
    if (!values.system_prompt) delete values.system_prompt;
    return values;
  }

  async save() {
    if (this.saving) return;
    this.clearErrors();
    if (this.unreadable()) return;
    const values = this.read();
    const changes = {};
    for (const name of FIELDS) if (!same(values[name], this.shown[name])) changes[name] = values[name];
    if (!this.conversation()) {
      for (const name of OWN) if (name in changes) this.pending[name] = changes[name];
      this.composer.applySettings(changes);
      this.dialog.close();
      return;
    }
    if (Object.keys(changes).length === 0) {
      this.dialog.close();
      return;
    }
    this.setSaving(true);
    try {
      const settings = await this.put(changes);
      if (settings) {
        this.applied(settings);
        this.dialog.close();
      }
    } finally {
      this.setSaving(false);
    }
  }

  /** PUTs `changes`; returns the settings saved, or null after saying what went wrong. */
  async put(changes) {
    let response;
    let body = null;
    try {
      response = await fetch(urlFor(this.url, this.conversation()), {
        method: "PUT",
        headers: {
          "X-CSRFToken": this.csrfToken,
          "Content-Type": "application/json",
          Accept: "application/json",
        },
        body: JSON.stringify(changes),
        credentials: "same-origin",
      });
      body = await response.json().catch(() => null);
    } catch {
      this.showProblem("The settings could not be saved: no connection. Please try again.");
      return null;
    }
    if (response.ok && body) return body;
    if (body?.code === "bad_settings" && this.showError(body.field, body.detail)) return null;
    this.showProblem(body?.detail || "The settings could not be saved. Please try again.");
    return null;
  }

  /** The server's settings for the conversation: shown by the composer and kept here. */
  applied(settings) {
    for (const name of OWN) if (name in settings) this.saved[name] = settings[name];
    this.composer.applySettings(settings);
  }

  /** A new chat's settings changed in the panel, for its first message (null: none). */
  newChatSettings() {
    return Object.keys(this.pending).length ? { ...this.pending } : null;
  }

  /** The first message made the conversation: what it carried is its settings now. */
  started() {
    Object.assign(this.saved, this.pending);
    this.pending = {};
  }

  /** The server refused a new chat's settings (a bad_settings error frame): says where. */
  refused(frame) {
    this.open();
    if (!this.showError(frame.field, frame.detail)) this.showProblem(frame.detail);
  }

  setSaving(saving) {
    this.saving = saving;
    if (!this.form) return;
    const save = this.form.elements.save;
    save.disabled = saving;
    save.textContent = saving ? "Saving…" : "Save";
  }

  /** Says `detail` beside the field `name` and moves the focus there; false if no such field. */
  showError(name, detail) {
    if (!this.form) return true; // closed meanwhile: nothing to show it in
    const note = this.dialog.querySelector(`#settings-${name}-error`);
    if (!FIELDS.includes(name) || !note) return false;
    note.textContent = detail || "This value cannot be used.";
    note.hidden = false;
    const input = name === "tools" ? this.toolBoxes()[0] : this.form.elements[name];
    const control = name === "tools" ? note.closest("fieldset") : input;
    control?.setAttribute("aria-invalid", "true");
    input?.focus();
    return true;
  }

  clearError(name) {
    if (!FIELDS.includes(name)) return;
    const note = this.dialog.querySelector(`#settings-${name}-error`);
    note.hidden = true;
    note.textContent = "";
    const control = name === "tools" ? note.closest("fieldset") : this.form.elements[name];
    control.removeAttribute("aria-invalid");
  }

  clearErrors() {
    for (const name of FIELDS) this.clearError(name);
    this.problem.hidden = true;
  }

  showProblem(text) {
    if (!this.form) return;
    this.problem.textContent = text;
    this.problem.hidden = false;
  }
}
