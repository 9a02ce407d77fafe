// The level-2 worklist (manual 5.2, §6): appeals assigned to me by
// status, overdue ones marked, live as they change.

import { api, can, h, fill, $, table, label, fmtDate, fmtDateTime, appealLink, ruError, viewer } from './lib.js';
import { onLive, onReconnect } from './common.js';
import { loadTopics, topicTitle } from './catalog-cache.js';

let current = 'in_work';
let refs = [];

function render() {
  for (const b of document.querySelectorAll('.tabs button')) {
    const n = refs.filter((r) => r.status === b.dataset.status).length;
    b.querySelector('.count').textContent = n ? `(${n})` : '';
    b.setAttribute('aria-selected', String(b.dataset.status === current));
    b.tabIndex = b.dataset.status === current ? 0 : -1;
  }
  const now = Date.now();
  const list = refs.filter((r) => r.status === current)
    .sort((x, y) => (Date.parse(x.due) || 0) - (Date.parse(y.due) || 0));
  const rows = list.map((r) => {
    const overdue = r.status !== 'closed' && r.due && Date.parse(r.due) < now;
    return h('tr', { class: overdue ? 'overdue' : '' },
      h('td', {}, appealLink(r)),
      h('td', {}, fmtDateTime(r.created)),
      h('td', {}, label('channel', r.channel)),
      h('td', {}, label('kind', r.kind)),
      h('td', {}, topicTitle(r.topic)),
      h('td', {}, fmtDate(r.due), overdue ? h('span', { class: 'error' }, ' просрочено') : null,
        r.pending_due ? h('span', { class: 'muted' }, ` (продление до ${fmtDate(r.pending_due)})`) : null),
      h('td', {}, r.resolution ? label('resolution', r.resolution) : ''),
      h('td', {}, h('a', { class: 'button btn-small', href: '/appeals/' + encodeURIComponent(r.id), 'aria-label': 'Редактирование обращения ' + r.number }, 'Редактирование')));
  });
  fill($('work-list'), table('', ['Номер', 'Создано', 'Канал', 'Тип', 'Тематика', 'Срок', 'Результат', ''], rows, 'Обращений с этим статусом нет.'));
}

async function load() {
  try {
    const [list] = await Promise.all([api('GET', '/api/v1/appeals?view=assigned&limit=1000'), loadTopics()]);
    refs = list;
    render();
  } catch (e) {
    fill($('work-list'), h('p', { class: 'error' }, ruError(e)));
  }
}

const tabs = [...document.querySelectorAll('.tabs button')];
for (const b of tabs) {
  b.addEventListener('click', () => { current = b.dataset.status; render(); });
  b.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(b);
    const j = e.key === 'ArrowRight' ? (i + 1) % tabs.length : e.key === 'ArrowLeft' ? (i + tabs.length - 1) % tabs.length : -1;
    if (j >= 0) { current = tabs[j].dataset.status; render(); tabs[j].focus(); }
  });
}
if (can('create:appeal')) {
  fill($('work-actions'), h('a', { class: 'button', href: '/appeals/new' }, 'Добавить обращение'));
}
load();
onLive('appeal.changed', (d) => { if (!d || d.assignee === viewer.login || refs.some((r) => r.id === d.id)) load(); });
onReconnect(load);
