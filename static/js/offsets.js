// Offsets on the wire count Unicode code points (Python's len), not UTF-16 units.

export function codePointLength(text) {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) n--; // a high surrogate starts a pair that counts once
  }
  return n;
}

export function skipCodePoints(text, count) {
  let i = 0;
  while (count > 0 && i < text.length) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff ? 2 : 1;
    count--;
  }
  return text.slice(i);
}

// The first `count` code points of `text`.
export function takeCodePoints(text, count) {
  return text.slice(0, text.length - skipCodePoints(text, count).length);
}

// What to do with a delta, given how many code points of the message we hold:
// {append: text} for new text (the unseen tail of an overlap), {gap: true} when text is missing.
export function accept(held, offset, text) {
  if (offset > held) return { gap: true };
  const length = codePointLength(text);
  if (offset + length <= held) return { append: "" };
  return { append: offset === held ? text : skipCodePoints(text, held - offset) };
}
