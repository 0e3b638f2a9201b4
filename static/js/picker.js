// The model picker: a button naming the model and its provider that opens a searchable list,
// grouped by provider, driven by the keyboard as well as the pointer (the ARIA combobox
// pattern: the search box owns the list, the active option is its aria-activedescendant).
//
// The native <select> stays in the form, out of sight, as the value the composer reads and
// sets: choosing here sets it and fires its change event, and setting it from code (a
// conversation's settings, the model remembered) shows here.
//
// For compare mode the same list picks several models (setMultiple): each option toggles, up
// to a limit, the list stays open while picking, and the picks are the picker's own (the
// select keeps the conversation's model for when compare mode ends).

const NATIVE_VALUE = Object.getOwnPropertyDescriptor(HTMLSelectElement.prototype, "value");

function element(tag, attributes = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

/** The words a search matches, folded: "gpt-4o openai". */
function searchable(...parts) {
  return parts.join(" ").toLowerCase();
}

export class ModelPicker {
  /** `select`: the native picker, its options grouped by provider in <optgroup>s. */
  constructor(select) {
    this.select = select;
    this.root = element("div", { class: "model-picker" });
    // Named by what it shows, after a hidden "Model:" (not by the select's label, which
    // names the select alone); `name` says what it sets, as the composer's other controls do.
    this.button = element("button", {
      type: "button",
      name: select.name,
      class: "chip model-button",
      "aria-haspopup": "listbox",
      "aria-expanded": "false",
      title: "Choose the model",
    });
    this.popover = element("div", { class: "model-popover", hidden: "" });
    const listId = `${select.id}-choices`;
    this.search = element("input", {
      type: "search",
      role: "combobox",
      "aria-label": "Search models",
      "aria-autocomplete": "list",
      "aria-expanded": "true",
      "aria-controls": listId,
      placeholder: "Search models",
      autocomplete: "off",
      spellcheck: "false",
    });
    this.list = element("div", { role: "listbox", id: listId, "aria-label": "Models" });
    this.none = element("p", { class: "model-none", hidden: "" }, "No model matches.");
    // Polite: why a pick was refused, read out without taking the focus from the list.
    this.say = element("p", { class: "model-say", "aria-live": "polite" });
    this.options = this.buildOptions(listId);
    this.popover.append(this.search, this.list, this.none, this.say);
    this.multiple = false;
    this.picks = [];
    this.limit = Infinity;
    select.before(this.root);
    this.root.append(this.button, this.popover, select);
    // Reached through the button; kept for forms and scripts, out of the keyboard's and
    // screen readers' way (one control named Model, not two).
    select.tabIndex = -1;
    select.setAttribute("aria-hidden", "true");
    select.classList.add("visually-hidden");
    this.watchSelect();
    this.button.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
    this.button.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.open();
      }
    });
    this.search.addEventListener("input", () => this.filter());
    this.search.addEventListener("keydown", (event) => this.onKeydown(event));
    this.list.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
    this.list.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.choose(option);
      else return;
      if (this.multiple) this.search.focus();
    });
    this.root.addEventListener("focusout", (event) => {
      if (this.isOpen && !this.root.contains(event.relatedTarget)) this.close(false);
    });
    document.addEventListener("pointerdown", (event) => {
      if (this.isOpen && !this.root.contains(event.target)) this.close(false);
    });
    this.show();
  }

  buildOptions(listId) {
    const options = [];
    const groups = this.select.querySelectorAll("optgroup");
    groups.forEach((group, g) => {
      const labelId = `${listId}-group-${g}`;
      const box = element("div", { role: "group", "aria-labelledby": labelId });
      box.append(element("div", { class: "model-group", id: labelId }, group.label));
      for (const native of group.querySelectorAll("option")) {
        const model = native.value.slice(native.value.indexOf(":") + 1);
        const option = element("div", {
          role: "option",
          id: `${listId}-${options.length}`,
          "aria-selected": "false",
          "data-value": native.value,
        });
        option.append(element("span", { class: "model-name" }, model));
        box.append(option);
        option.dataset.search = searchable(model, group.label, native.value);
        options.push(option);
      }
      this.list.append(box);
    });
    return options;
  }

  /** Shows what the select holds whenever it changes: chosen here, by a script, or by code. */
  watchSelect() {
    const picker = this;
    Object.defineProperty(this.select, "value", {
      configurable: true,
      get() {
        return NATIVE_VALUE.get.call(this);
      },
      set(value) {
        NATIVE_VALUE.set.call(this, value);
        picker.show();
      },
    });
    this.select.addEventListener("change", () => this.show());
    new MutationObserver(() => this.show()).observe(this.select, {
      attributes: true,
      attributeFilter: ["disabled"],
    });
  }

  get isOpen() {
    return !this.popover.hidden;
  }

  /**
   * Multi-select (`on`) with `picks` ("provider:model") picked, at most `limit` of them; off:
   * single-select again, showing the select's model.
   */
  setMultiple(on, picks = [], limit = Infinity) {
    this.multiple = on;
    this.picks = on ? [...picks] : [];
    this.limit = limit;
    this.say.textContent = "";
    if (on) this.list.setAttribute("aria-multiselectable", "true");
    else this.list.removeAttribute("aria-multiselectable");
    this.show();
  }

  /** "gpt-4o" and "OpenAI" for "openai:gpt-4o", from the select's option and its group. */
  describe(value) {
    const native = [...this.select.options].find((option) => option.value === value);
    return {
      model: value.slice(value.indexOf(":") + 1),
      provider: native?.parentElement.label || "",
    };
  }

  /** The button names the model and its provider, as the chosen option's label does. */
  show() {
    if (this.multiple) {
      this.showPicks();
      return;
    }
    const native = this.select.selectedOptions[0];
    this.button.disabled = this.select.disabled;
    this.button.replaceChildren();
    if (!native) {
      this.button.textContent = "No model";
      return;
    }
    const model = native.value.slice(native.value.indexOf(":") + 1);
    const provider = native.parentElement.label || "";
    this.button.append(
      element("span", { class: "visually-hidden" }, "Model: "),
      element("span", { class: "model-name" }, model),
      " ", // read as two words; a flex container lays no space out
      element("span", { class: "provider" }, provider),
    );
    for (const option of this.options) {
      option.setAttribute("aria-selected", String(option.dataset.value === native.value));
    }
  }

  /** The models picked to compare, named in full while they fit, else counted. */
  showPicks() {
    this.button.disabled = false;
    const names = this.picks.map((value) => {
      const { model, provider } = this.describe(value);
      return `${model} · ${provider}`;
    });
    const full = names.join(", ");
    const shown = !names.length ? "No models" : full.length > 32 ? `${names.length} models` : full;
    this.button.replaceChildren(
      // Not "Compare…": that names the chip that turns compare mode on and off.
      element("span", { class: "visually-hidden" }, `Models (${names.length}): `),
      element("span", { class: "model-name", "aria-hidden": "true" }, shown),
      element("span", { class: "visually-hidden" }, names.length ? full : "none picked"),
    );
    for (const option of this.options) {
      option.setAttribute("aria-selected", String(this.picks.includes(option.dataset.value)));
    }
  }

  open() {
    if (this.button.disabled) return;
    this.popover.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.search.value = "";
    this.filter();
    const chosen = this.options.find((o) => o.getAttribute("aria-selected") === "true");
    this.activate(chosen || this.visible()[0]);
    this.search.focus();
  }

  close(refocus = true) {
    this.popover.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    this.search.removeAttribute("aria-activedescendant");
    if (refocus) this.button.focus();
  }

  visible() {
    return this.options.filter((option) => !option.hidden);
  }

  /** Only the options whose model or provider has every word typed. */
  filter() {
    const words = this.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const option of this.options) {
      option.hidden = !words.every((word) => option.dataset.search.includes(word));
    }
    for (const group of this.list.children) {
      group.hidden = !group.querySelector("[role=option]:not([hidden])");
    }
    const shown = this.visible();
    this.none.hidden = shown.length > 0;
    if (!shown.includes(this.active)) this.activate(shown[0]);
  }

  activate(option) {
    if (this.active) this.active.classList.remove("active");
    this.active = option || null;
    if (!option) {
      this.search.removeAttribute("aria-activedescendant");
      return;
    }
    option.classList.add("active");
    this.search.setAttribute("aria-activedescendant", option.id);
    option.scrollIntoView({ block: "nearest" });
  }

  onKeydown(event) {
    const shown = this.visible();
    const at = shown.indexOf(this.active);
    const moves = {
      ArrowDown: () => shown[Math.min(at + 1, shown.length - 1)],
      ArrowUp: () => shown[Math.max(at - 1, 0)],
      Home: () => shown[0],
      End: () => shown[shown.length - 1],
    };
    if (moves[event.key] && shown.length) {
      event.preventDefault();
      this.activate(moves[event.key]());
    } else if (event.key === "Enter" || (event.key === " " && this.multiple && !this.search.value)) {
      // Space toggles a pick while nothing is typed; after a word it separates the next one.
      event.preventDefault();
      if (this.active) this.choose(this.active);
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // not the composer's "stop the answer"
      this.close();
    } else if (event.key === "Tab") {
      this.close(false);
    }
  }

  choose(option) {
    if (this.multiple) {
      this.toggle(option.dataset.value);
      return;
    }
    const changed = this.select.value !== option.dataset.value;
    this.select.value = option.dataset.value;
    this.close();
    if (changed) this.select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  /** Picks or unpicks one model to compare; one past the limit is refused, and says why. */
  toggle(value) {
    if (this.picks.includes(value)) {
      this.picks = this.picks.filter((pick) => pick !== value);
      this.say.textContent = "";
    } else if (this.picks.length >= this.limit) {
      this.say.textContent = `${this.limit} models at most: unpick one first.`;
      return;
    } else {
      this.picks.push(value);
      this.say.textContent = "";
    }
    this.show();
    this.root.dispatchEvent(new Event("picks", { bubbles: true }));
  }
}
