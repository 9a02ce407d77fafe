// The administrator's review (manual §6): appeals closed by their
// operators wait for approval or return; deadline extensions wait for
// approval or refusal. Live: a newly closed appeal appears at once.

import { api, h, fill, $, table, label, fmtDate, fmtDateTime, appealLink, ruError, toast, busy } from './lib.js';
import { onLive, onReconnect } from './common.js';
import { loadTopics, topicTitle } from './catalog-cache.js';

let pendingReturn = null;

async function approve(r, button) {
  try {
    const a = await busy(button, () => api('POST', `/api/v1/appeals/${encodeURIComponent(r.id)}/approve`, {}));
    toast(a.status === 'closed' ? `Обращение ${r.number} утверждено и закрыто` : `Продление срока по ${r.number} утверждено: до ${fmtDate(a.due)}`);
    load();
  } catch (e) {
    toast(ruError(e), true);
  }
}

function askReturn(r) {
  pendingReturn = r;
  $('return-title').textContent = r.pending_due ? 'Отказать в продлении срока' : 'Вернуть на доработку';
  $('return-what').textContent = `Обращение № ${r.number}, исполнитель ${r.assignee}.`;
  $('return-comment').value = '';
  $('return-error').textContent = '';
  $('return-dialog').showModal();
  $('return-comment').focus();
}

function rows(list, ext) {
  return list.map((r) => h('tr', {},
    h('td', {}, appealLink(r)),
    h('td', {}, fmtDateTime(r.created)),
    h('td', {}, r.assignee),
    h('td', {}, label('kind', r.kind)),
    h('td', {}, topicTitle(r.topic)),
    ext ? h('td', {}, `${fmtDate(r.due)} → ${fmtDate(r.pending_due)}`) : h('td', {}, label('resolution', r.resolution)),
    h('td', {}, h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn-small', 'aria-label': (ext ? 'Утвердить продление по ' : 'Утвердить обращение ') + r.number, onclick: (e) => approve(r, e.currentTarget) }, 'Утвердить'),
      h('button', { type: 'button', class: 'btn-small btn-secondary', 'aria-label': (ext ? 'Отказать в продлении по ' : 'Вернуть обращение ') + r.number, onclick: () => askReturn(r) }, ext ? 'Отказать' : 'Вернуть')))));
}

async function load() {
  try {
    const [list] = await Promise.all([api('GET', '/api/v1/appeals?view=all&status=under_review&limit=1000'), loadTopics()]);
    const ext = list.filter((r) => r.pending_due);
    const closed = list.filter((r) => !r.pending_due);
    fill($('rv-list'), table('', ['Номер', 'Создано', 'Исполнитель', 'Тип', 'Тематика', 'Результат', 'Решение'], rows(closed, false), 'Нет обращений на рассмотрении.'));
    fill($('ext-list'), table('', ['Номер', 'Создано', 'Исполнитель', 'Тип', 'Тематика', 'Срок', 'Решение'], rows(ext, true), 'Нет запросов на продление.'));
  } catch (e) {
    fill($('rv-list'), h('p', { class: 'error' }, ruError(e)));
  }
}

$('return-form').addEventListener('submit', async (ev) => {
  if (ev.submitter && ev.submitter.value === 'cancel') return;
  ev.preventDefault();
  const comment = $('return-comment').value.trim();
  if (!comment) {
    $('return-error').textContent = 'Напишите, что нужно доработать.';
    return;
  }
  try {
    await busy($('return-go'), () => api('POST', `/api/v1/appeals/${encodeURIComponent(pendingReturn.id)}/return`, { comment }));
    $('return-dialog').close();
    toast(`Обращение ${pendingReturn.number} возвращено исполнителю`);
    load();
  } catch (e) {
    $('return-error').textContent = ruError(e);
  }
});

load();
onLive('appeal.changed', load);
onReconnect(load);
