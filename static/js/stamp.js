// When a message was written: a short time under it ("14:32" today, "Mon 14:32" this week,
// "3 Dec" before, "3 Dec 2025" in another year), the full date and time in its tooltip.

import { element } from "./dom.js";

const DAY = 24 * 60 * 60 * 1000;

const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const dayMonth = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const dayMonthYear = new Intl.DateTimeFormat(undefined, {
  day: "numeric", month: "short", year: "numeric",
});
const full = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** The short form of `date` as seen at `now`. */
export function shortTime(date, now = new Date()) {
  const daysAgo = Math.round((startOfDay(now) - startOfDay(date)) / DAY);
  if (daysAgo <= 0) return timeOfDay.format(date);
  if (daysAgo < 7) return `${weekday.format(date)} ${timeOfDay.format(date)}`;
  if (date.getFullYear() === now.getFullYear()) return dayMonth.format(date);
  return dayMonthYear.format(date);
}

/** A <time> element for `iso` (a message's created_at), or for now when it has none: a live
 * answer's start frame carries no time, and it is arriving now. */
export function timeStamp(iso) {
  const parsed = iso ? new Date(iso) : new Date();
  const date = Number.isNaN(parsed.getTime()) ? new Date() : parsed;
  const node = element("time", "stamp", shortTime(date));
  node.dateTime = date.toISOString();
  node.title = full.format(date);
  return node;
}
