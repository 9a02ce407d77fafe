// A running campaign's live figures (dial level, abandonment today and
// over 30 days) in the campaigns' tables of the campaign staff's screen
// and the wallboard: read with the campaign's status, then updated in
// place by the server's campaign.stats events (no polling).

import { h, fmtLevel, fmtShare } from './lib.js';

/** liveHeads are the columns' headings. */
export const liveHeads = ['Уровень набора', 'Брошено сегодня', 'Брошено за 30 дней'];

const fields = [['dial_level', fmtLevel], ['abandon_day', fmtShare], ['abandon_30d', fmtShare]];

// seen is each campaign's ended attempts and calls in flight (dial level)
// when its counts were last read: an event with others means the counts
// (dialed, reached…) moved.
const seen = new Map();

const mark = (l) => (l ? l.attempts + '/' + l.dial_level : '');

/** sawAttempts notes the figures of a campaign status just read. */
export function sawAttempts(id, status) {
  seen.set(id, mark(status && status.live));
}

/** liveCells are the figures' cells of campaign c (status: its status). */
export function liveCells(c, status) {
  const l = (c.status === 'running' || c.status === 'paused') && status && status.live ? status.live : null;
  return fields.map(([k, f]) => h('td', { class: 'num', dataset: { live: c.id + ':' + k } }, l ? f(l[k]) : '—'));
}

/** showLive puts a campaign.stats event's figures on the screen and
 * returns whether the campaign's counts need reading again. */
export function showLive(d) {
  if (!d || !d.campaign) return false;
  for (const [k, f] of fields) {
    const td = document.querySelector(`td[data-live="${CSS.escape(d.campaign + ':' + k)}"]`);
    if (td) td.textContent = f(d[k]);
  }
  return seen.get(d.campaign) !== mark(d);
}
