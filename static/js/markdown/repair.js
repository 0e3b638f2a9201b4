// Repairs the still-open end of a streaming answer so that what is shown mid-stream looks like
// what it is becoming: a dangling `**`, `*`, `~~` or backtick is closed, a half-written link
// shows as its text, a half-written image is left out, and a line that so far holds only block
// markers ("-", "1.", "#", "|--") waits for its text. Only the last line is touched: earlier
// lines are complete, and an unmatched marker there is the author's. The repaired text is only
// ever shown for the live tail; the final render uses the text as sent.

const FENCE_LINE = /^\s*(`{3,}|~{3,})/;
const MARKERS_ONLY =
  /^\s*(?:>\s*)*(?:(?:[-+*]|\d{1,9}[.)]?)\s*)?(?:#{1,6}|`+|~+|[-=*_ ]+|[|:\- ]+)?\s*$/;
// A marker run after a space with nothing after it yet: an opener about to get its text.
const BARE_OPENER = /(^|\s)(?:\*+|~+|`+)$/;
const BLOCK_PREFIX = /^(?:\s*>)*\s*(?:(?:[-+*]|\d{1,9}[.)])\s+)?(?:#{1,6}\s+)?/;
const HALF_IMAGE = /!\[[^\]]*(?:\](?:\([^)]*)?)?$/;
const HALF_LINK = /\[([^\]]*)\]\([^)\s]*$/;

function endsInsideFence(text) {
  let open = null;
  for (const line of text.split("\n")) {
    const match = FENCE_LINE.exec(line);
    if (!match) continue;
    const marker = match[1];
    if (open === null) {
      open = marker;
    } else if (marker[0] === open[0] && marker.length >= open.length && line.trim() === marker) {
      open = null;
    }
  }
  return open !== null;
}

function isSpace(char) {
  return char === undefined || /\s/.test(char);
}

/** The closers the end of `line` needs, scanning from `from`; null if nothing dangles. */
function danglingInline(line, from) {
  const stack = []; // {marker, at}: openers still waiting for their closer
  let codeRun = null; // {run, at}: an open code span
  let i = from;
  while (i < line.length) {
    const char = line[i];
    if (char === "\\") {
      i += 2;
      continue;
    }
    if (char !== "*" && char !== "~" && char !== "`") {
      i += 1;
      continue;
    }
    let end = i;
    while (line[end] === char) end += 1;
    const run = line.slice(i, end);
    if (char === "`") {
      // A code span closes only on a run of the same length; inside it nothing else counts.
      const close = line.indexOf(run, end);
      let j = close;
      while (j !== -1 && (line[j + run.length] === "`" || line[j - 1] === "`")) {
        j = line.indexOf(run, j + 1);
      }
      if (j === -1) {
        codeRun = { run, at: i };
        break;
      }
      i = j + run.length;
      continue;
    }
    const canOpen = !isSpace(line[end]);
    const canClose = !isSpace(line[i - 1]);
    if (char === "~") {
      if (run.length === 2) {
        const top = stack.length ? stack[stack.length - 1] : null;
        if (canClose && top && top.marker === "~~") stack.pop();
        else if (canOpen) stack.push({ marker: "~~", at: i });
      }
      i = end;
      continue;
    }
    let left = run.length;
    if (canClose) {
      while (left > 0 && stack.length && stack[stack.length - 1].marker[0] === "*") {
        const top = stack[stack.length - 1];
        if (top.marker.length <= left) {
          left -= top.marker.length;
          stack.pop();
        } else {
          top.marker = top.marker.slice(left);
          left = 0;
        }
      }
    }
    if (left > 0 && canOpen) {
      if (left >= 3) {
        stack.push({ marker: "**", at: end - left });
        stack.push({ marker: "*".repeat(left - 2), at: end - left + 2 });
      } else {
        stack.push({ marker: "*".repeat(left), at: end - left });
      }
    }
    i = end;
  }
  if (!stack.length && !codeRun) return null;
  return { stack, codeRun };
}

function repairLine(line) {
  const image = HALF_IMAGE.exec(line);
  if (image) line = line.slice(0, image.index);
  const link = HALF_LINK.exec(line);
  if (link) line = line.slice(0, link.index) + link[1];
  const bare = BARE_OPENER.exec(line);
  if (bare) line = line.slice(0, bare.index + bare[1].length);

  const prefix = BLOCK_PREFIX.exec(line)[0].length;
  const dangling = danglingInline(line, prefix);
  if (!dangling) return line;
  const { stack, codeRun } = dangling;

  // Closers go before trailing spaces: "**bold **" would not close.
  let body = line.trimEnd();
  const trailing = line.slice(body.length);
  if (codeRun) {
    if (body.length === codeRun.at + codeRun.run.length) body = body.slice(0, codeRun.at);
    else body += codeRun.run;
  }
  for (let k = stack.length - 1; k >= 0; k -= 1) {
    const { marker, at } = stack[k];
    // An opener with nothing after it yet is dropped rather than closed around nothing.
    if (body.trimEnd().length === at + marker.length) body = body.slice(0, at);
    else body = body.trimEnd() + marker;
  }
  return body + trailing;
}

/** The text to render for the open tail of a stream (see the top of this file). */
export function repairTail(text) {
  const cut = text.lastIndexOf("\n") + 1;
  const line = text.slice(cut);
  if (!line) return text;
  const head = text.slice(0, cut);
  if (MARKERS_ONLY.test(line)) return head;
  if (endsInsideFence(text)) return text;
  // An indented code line (outside a list, where indentation means continuation) is code.
  if (/^(?: {4}|\t)/.test(line) && !/^\s*(?:[-+*]|\d{1,9}[.)])\s/.test(text)) return text;
  return head + repairLine(line);
}
