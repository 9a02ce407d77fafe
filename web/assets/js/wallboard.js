// The supervisor's wallboard: operators with their state and time in
// state, queues with waiting callers, longest wait, service level and
// today's figures, listen / whisper / barge, and a plot of service level
// and waiting callers. Everything moves on server events.

import { api, can, h, fill, $, table, fmtDuration, ruError, toast } from './lib.js';
import { onLive, onReconnect, features, agentStateName } from './common.js';
import { liveCells, liveHeads, showLive, sawAttempts } from './campaign-live.js';

let agents = [];
let names = new Map(); // login → display name, from the directory
let queues = new Map();
const samples = []; // {t, sl, waiting}
let supervising = null;

function since(a) {
  const t = Date.parse(a.state_since || a.since || '');
  return isNaN(t) ? '' : fmtDuration((Date.now() - t) / 1000);
}

function renderTiles() {
  const count = (s) => agents.filter((a) => a.state === s).length;
  const waiting = [...queues.values()].reduce((n, q) => n + (q.waiting || 0), 0);
  const longest = [...queues.values()].reduce((n, q) => Math.max(n, q.longest_wait_seconds || 0), 0);
  fill($('wb-tiles'), [
    ['Свободны', count('ready')], ['Разговаривают', count('talking') + count('reserved')], ['Обработка', count('wrap_up')],
    ['Пауза', count('paused')], ['Ожидают в очередях', waiting], ['Дольше всех ждёт', fmtDuration(longest)],
  ].map(([k, v]) => h('div', { class: 'tile' }, h('div', { class: 'muted' }, k), h('div', { class: 'value' }, String(v)))));
}

async function supervise(a, mode, button) {
  $('wb-sv-error').textContent = '';
  try {
    if (supervising && supervising.agent === a.login && supervising.mode === mode) {
      await api('DELETE', '/api/v1/supervise');
      supervising = null;
      toast('Наблюдение остановлено');
    } else {
      // Another mode on the same operator's call keeps the phone's call up.
      const again = supervising && supervising.agent === a.login;
      await api('POST', '/api/v1/supervise', { agent: a.login, mode });
      supervising = { agent: a.login, mode };
      toast({ listen: 'Прослушивание', whisper: 'Суфлирование', barge: 'Вмешательство' }[mode] + ': ' + nameOf(a) +
        (again ? '.' : '. Ваш телефон сейчас зазвонит.'));
    }
    renderAgents();
  } catch (e) {
    $('wb-sv-error').textContent = ruError(e);
  }
  if (button) button.focus();
}

function nameOf(a) {
  return a.display_name || names.get(a.login) || a.login;
}

function svButton(a, mode, text) {
  const on = supervising && supervising.agent === a.login && supervising.mode === mode;
  return h('button', {
    type: 'button', class: 'btn-small ' + (on ? '' : 'btn-secondary'), 'aria-pressed': String(!!on),
    'aria-label': on ? `Стоп: ${text.toLowerCase()}, ${nameOf(a)}` : `${text}: ${nameOf(a)}`, onclick: (e) => supervise(a, mode, e.currentTarget),
  }, on ? 'Стоп' : text);
}

function renderAgents() {
  const active = agents.filter((a) => a.state && a.state !== 'logged_out');
  // The server ends a supervision when its call ends or leaves the
  // operator: «Стоп» must not stay on the operator's next call.
  if (supervising && !agents.some((a) => a.login === supervising.agent && a.state === 'talking')) supervising = null;
  fill($('wb-agents'), table('', ['Оператор', 'Вн.', 'Состояние', 'В состоянии', 'Звонок', features.supervise ? 'Наблюдение' : null].filter(Boolean),
    active.map((a) => h('tr', {},
      h('td', {}, nameOf(a)),
      h('td', {}, a.extension || ''),
      h('td', {}, h('span', { class: 'state-' + a.state }, agentStateName(a.state, a.pause_reason || a.reason))),
      h('td', { class: 'num', dataset: { since: a.login } }, since(a)),
      h('td', {}, (a.call && (a.call.queue || a.call.campaign)) || a.queue || ''),
      features.supervise ? h('td', {}, a.state === 'talking' ? h('div', { class: 'actions' },
        svButton(a, 'listen', 'Слушать'), svButton(a, 'whisper', 'Суфлёр'), svButton(a, 'barge', 'Вмешаться')) : '') : null)),
    'Нет операторов в работе.'));
  renderTiles();
}

function renderQueues() {
  const list = [...queues.values()].sort((x, y) => x.name.localeCompare(y.name));
  fill($('wb-queues'), table('', ['Очередь', 'Ждут', 'Дольше всех', 'Ур. обсл.', 'Поступ.', 'Принято', 'Потеряно'],
    list.map((q) => h('tr', {},
      h('td', {}, q.name),
      h('td', { class: 'num' }, String(q.waiting || 0)),
      h('td', { class: 'num' }, fmtDuration(q.longest_wait_seconds || 0)),
      h('td', { class: 'num' }, q.service_level === undefined || q.service_level === null ? '—' : Math.round(q.service_level * 100) + ' %'),
      h('td', { class: 'num' }, String(q.offered_today ?? (q.today ? q.today.offered : ''))),
      h('td', { class: 'num' }, String(q.answered_today ?? (q.today ? q.today.answered : ''))),
      h('td', { class: 'num' }, String(q.abandoned_today ?? (q.today ? q.today.abandoned : ''))))),
    'Очередей нет.'));
  renderTiles();
}

function sample() {
  const qs = [...queues.values()];
  if (!qs.length) return;
  const sl = qs.reduce((n, q) => n + (q.service_level ?? 1), 0) / qs.length;
  const waiting = qs.reduce((n, q) => n + (q.waiting || 0), 0);
  samples.push({ t: Date.now(), sl, waiting });
  while (samples.length > 2000) samples.shift();
  plot();
}

function plot() {
  const c = $('wb-plot');
  c.dataset.points = String(samples.length);
  c.dataset.from = samples.length ? String(samples[0].t) : '';
  const g = c.getContext('2d');
  const W = c.width;
  const H = c.height;
  g.clearRect(0, 0, W, H);
  g.strokeStyle = '#c3ccd6';
  g.strokeRect(0.5, 0.5, W - 1, H - 1);
  if (samples.length < 2) return;
  const t0 = samples[0].t;
  const t1 = samples[samples.length - 1].t;
  const maxW = Math.max(1, ...samples.map((s) => s.waiting));
  const x = (t) => 30 + ((W - 40) * (t - t0)) / Math.max(1, t1 - t0);
  const line = (color, y) => {
    g.strokeStyle = color;
    g.lineWidth = 2;
    g.beginPath();
    samples.forEach((s, i) => (i ? g.lineTo(x(s.t), y(s)) : g.moveTo(x(s.t), y(s))));
    g.stroke();
  };
  line('#1e6b35', (s) => H - 10 - (H - 20) * s.sl);
  line('#a4161a', (s) => H - 10 - ((H - 20) * s.waiting) / maxW);
  g.fillStyle = '#1b1f24';
  g.font = '12px sans-serif';
  g.fillText('уровень обсл. (зел.), ожидают (красн., макс. ' + maxW + ')', 34, 14);
}

const campaignStatus = { created: 'Создана', running: 'Идёт', paused: 'Приостановлена', stopped: 'Остановлена' };

// loadCampaigns shows the running campaigns with their progress, dial
// level and abandonment (today, 30 days).
async function loadCampaigns() {
  if (!features.campaigns || !can('read:campaign')) return;
  try {
    const list = (await api('GET', '/api/v1/campaigns')).filter((c) => c.status === 'running' || c.status === 'paused');
    const sts = await Promise.all(list.map((c) => api('GET', '/api/v1/campaigns/' + encodeURIComponent(c.id)).catch(() => null)));
    $('wb-campaigns-panel').hidden = false;
    sts.forEach((st, i) => sawAttempts(list[i].id, st));
    fill($('wb-campaigns'), table('', ['Кампания', 'Статус', 'Всего', 'Набрано', 'Дозвон', 'Ждут', 'Выполнено', ...liveHeads], list.map((c, i) => {
      const t = (sts[i] && sts[i].report && sts[i].report.total) || {};
      const done = t.total ? Math.round((100 * ((t.reached || 0) + (t.refused || 0) + (t.exhausted || 0) + (t.dnc || 0))) / t.total) : 0;
      return h('tr', {}, h('td', {}, c.title), h('td', {}, campaignStatus[c.status] || c.status),
        ...['total', 'dialed', 'reached'].map((k) => h('td', { class: 'num' }, String(t[k] ?? ''))),
        h('td', { class: 'num' }, String((t.waiting ?? 0) + (t.pending_retry ?? 0))),
        h('td', { class: 'num' }, done + ' %'),
        ...liveCells(c, sts[i]));
    }), 'Нет идущих кампаний.'));
  } catch (e) {
    toast(ruError(e), true);
  }
}

// loadHistory puts the day's course so far (kept by the server) before
// the points this page adds.
let historyLoaded = false;
async function loadHistory() {
  if (historyLoaded || !features.queues) return;
  historyLoaded = true;
  try {
    const pts = await api('GET', '/api/v1/queues/history');
    const first = samples.length ? samples[0].t : Infinity;
    const old = pts.map((p) => ({ t: Date.parse(p.t), sl: p.service_level, waiting: p.waiting })).filter((p) => p.t < first);
    samples.unshift(...old);
    plot();
  } catch (e) {
    if (e.status !== 404) toast(ruError(e), true);
  }
}

async function load() {
  loadCampaigns();
  loadHistory();
  if (!features.agents && !features.queues) {
    $('wb-off').hidden = false;
    renderAgents();
    renderQueues();
    return;
  }
  try {
    const [ag, qs, dir] = await Promise.all([
      features.agents ? api('GET', '/api/v1/agents') : [],
      features.queues ? api('GET', '/api/v1/queues') : [],
      names.size || !can('read:directory') ? null : api('GET', '/api/v1/directory'),
    ]);
    if (dir) names = new Map(dir.map((x) => [x.login, x.display_name || x.login]));
    agents = ag || [];
    queues = new Map((qs || []).map((q) => [q.name, q]));
    renderAgents();
    renderQueues();
    sample();
  } catch (e) {
    toast(ruError(e), true);
  }
}

onLive('agent.state', (d) => {
  if (!d) return;
  const a = agents.find((x) => x.login === d.login);
  if (a) {
    Object.assign(a, { state: d.state, state_since: d.since, pause_reason: d.reason || '' });
    renderAgents();
  } else {
    load();
  }
});
onLive('queue.stats', (d) => {
  if (!d || !d.queue) return;
  const q = queues.get(d.queue) || { name: d.queue };
  Object.assign(q, { waiting: d.waiting, longest_wait_seconds: d.longest_wait_seconds, service_level: d.service_level });
  for (const k of ['offered_today', 'answered_today', 'abandoned_today']) if (d[k] !== undefined) q[k] = d[k];
  queues.set(d.queue, q);
  renderQueues();
  sample();
});
onLive('call.connected', load);
onLive('call.ended', load);
onLive('campaign.changed', loadCampaigns);
onLive('campaign.stats', (d) => { if (showLive(d)) loadCampaigns(); });
onReconnect(load);
// Time in state moves every second on screen; the data only on events.
setInterval(() => {
  for (const td of document.querySelectorAll('td[data-since]')) {
    const a = agents.find((x) => x.login === td.dataset.since);
    if (a) td.textContent = since(a);
  }
}, 1000);
load();
