// The API tokens page: Copy puts a new token in the clipboard (it is shown only once).

import { copyWithFeedback } from "./clipboard.js";

for (const button of document.querySelectorAll("button[data-copies]")) {
  const source = document.getElementById(button.dataset.copies);
  button.addEventListener("click", () => copyWithFeedback(button, source.textContent.trim()));
}
