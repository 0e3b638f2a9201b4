// Task lists: a list item whose text starts with "[ ] " or "[x] " shows a checkbox. It is drawn,
// not an <input>: model output has nothing to submit, and the box only reports its state.
const TASK = /^\[([ xX])\][ \t]+(?=\S)/;

function checkbox(checked) {
  return (
    `<span class="md-task-box" role="checkbox" aria-checked="${checked}" aria-disabled="true"` +
    ` aria-label="${checked ? "Done" : "Not done"}"></span>`
  );
}

function taskLists(state) {
  const tokens = state.tokens;
  for (let i = 2; i < tokens.length; i += 1) {
    const inline = tokens[i];
    if (inline.type !== "inline" || tokens[i - 1].type !== "paragraph_open") continue;
    const item = tokens[i - 2];
    if (item.type !== "list_item_open") continue;
    const first = inline.children[0];
    const match = first && first.type === "text" ? TASK.exec(first.content) : null;
    if (!match) continue;
    first.content = first.content.slice(match[0].length);
    const box = new state.Token("task_box", "", 0);
    box.meta = { checked: match[1] !== " " };
    inline.children.unshift(box);
    item.attrJoin("class", "md-task");
  }
}

/** Adds task lists to a markdown-it instance. */
export function taskListPlugin(md) {
  md.core.ruler.after("inline", "task_lists", taskLists);
  md.renderer.rules.task_box = (tokens, idx) => checkbox(tokens[idx].meta.checked);
}
