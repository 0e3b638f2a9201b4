// The addresses the page's scripts use come from the server, in the page data's `urls`; none
// is written out in a script. In those that name a conversation, "{id}" stands for its id.

/** The address `template` gives conversation `id`. */
export function urlFor(template, id) {
  return template.replace("{id}", String(id));
}
