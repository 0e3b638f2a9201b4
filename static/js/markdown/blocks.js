// Where the top-level blocks of a piece of markdown start and end, from markdown-it's own block
// parser (its tokens carry `map`: [first line, line after the last]), without the inline pass.
import { md } from "./parser.js";

const CLOSING_FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;

/** True when `line` closes a fence opened with `marker` (same character, at least as long). */
export function closesFence(line, marker) {
  const match = CLOSING_FENCE.exec(line);
  return match !== null && match[1][0] === marker[0] && match[1].length >= marker.length;
}

/** Offsets of the start of each line of `text`, plus one past its end. */
export function lineStarts(text) {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  if (starts[starts.length - 1] !== text.length) starts.push(text.length);
  return starts;
}

/**
 * The top-level blocks of `text`: [{type, start, end, markup}] with line numbers, and whether
 * it defines link references (which can change blocks anywhere else in the message).
 */
export function topLevelBlocks(text) {
  const env = {};
  const tokens = [];
  md.block.parse(text, md, env, tokens);
  const blocks = [];
  for (const token of tokens) {
    if (token.level !== 0 || token.nesting === -1 || !token.map) continue;
    blocks.push({
      type: token.type,
      start: token.map[0],
      end: token.map[1],
      markup: token.markup,
    });
  }
  const references = env.references !== undefined && Object.keys(env.references).length > 0;
  return { blocks, references };
}
