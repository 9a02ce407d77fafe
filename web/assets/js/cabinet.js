// The operator's cabinet (manual §4): who I am, the phone directory with
// each colleague's availability, and the journal of my active appeals.

import { api, can, h, fill, $, table, label, statusBadge, fmtDate, fmtDateTime, appealLink, debounce, ruError, toast, viewer } from './lib.js';
import { onLive, onReconnect, features, openTransfer, currentCall, agentStateName } from './common.js';

const dirResults = $('dir-results');
let availability = new Map();

async function loadAvailability() {
  if (!features.agents) return;
  try {
    const list = await api('GET', '/api/v1/agents');
    availability = new Map((list || []).map((a) => [a.login, a]));
  } catch { /* directory still works without it */ }
}

// isAgent: roles that take calls.
function isAgent(x) {
  return (x.roles || []).some((r) => ['operator_l1', 'operator_l2', 'rep_l1', 'rep_l2', 'rep_l3'].includes(r));
}

let listed = [];

async function searchDirectory() {
  const q = $('dir-q').value.trim();
  try {
    [listed] = await Promise.all([api('GET', '/api/v1/directory?q=' + encodeURIComponent(q)), loadAvailability()]);
    renderDirectory();
  } catch (e) {
    fill(dirResults, h('p', { class: 'error' }, ruError(e)));
  }
}

function renderDirectory() {
  const rows = listed.map((x) => {
    const a = availability.get(x.login);
    return h('tr', {},
      h('td', {}, x.display_name || x.login),
      h('td', {}, x.organization || ''),
      h('td', {}, x.extension || ''),
      h('td', {}, (x.roles || []).map((r) => label('role', r)).join(', ')),
      features.agents ? h('td', {}, a ? h('span', { class: 'state-' + a.state }, agentStateName(a.state, a.pause_reason))
        : isAgent(x) ? h('span', { class: 'state-logged_out' }, agentStateName('logged_out')) : '') : null,
      features.transfer ? h('td', {}, x.extension && x.login !== viewer.login
        ? h('button', { type: 'button', class: 'btn-small btn-secondary', 'aria-label': 'Перевести звонок на ' + (x.display_name || x.login),
          onclick: () => currentCall() ? openTransfer(x.extension) : toast('Сейчас нет звонка для перевода', true) }, 'Перевести') : '') : null);
  });
  const headers = ['ФИО', 'Организация', 'Вн. номер', 'Роль'];
  if (features.agents) headers.push('Доступность');
  if (features.transfer) headers.push('Действие');
  fill(dirResults, table('', headers, rows, 'Никого не нашлось.'));
}

async function loadJournal() {
  const box = $('journal-list');
  try {
    const refs = await api('GET', '/api/v1/appeals?view=work&limit=200');
    const active = refs.filter((r) => r.status !== 'closed');
    const now = Date.now();
    const rows = active.map((r) => h('tr', { class: r.due && Date.parse(r.due) < now ? 'overdue' : '' },
      h('td', {}, appealLink(r)),
      h('td', {}, fmtDateTime(r.created)),
      h('td', {}, label('kind', r.kind)),
      h('td', {}, label('channel', r.channel)),
      h('td', {}, statusBadge(r.status)),
      h('td', {}, r.assignee === viewer.login ? 'я' : r.assignee),
      h('td', {}, fmtDate(r.due))));
    fill(box, table('', ['Номер', 'Создано', 'Тип', 'Канал', 'Статус', 'Исполнитель', 'Срок'], rows, 'Активных обращений нет.'));
  } catch (e) {
    fill(box, h('p', { class: 'error' }, ruError(e)));
  }
}

function initPassword() {
  const form = $('password-form');
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('pw-error');
    err.textContent = '';
    try {
      await api('POST', `/api/v1/accounts/${encodeURIComponent(viewer.login)}/password`, { current: $('pw-current').value, password: $('pw-new').value });
      toast('Пароль изменён. Войдите с новым паролем.');
      setTimeout(() => location.assign('/login'), 1500);
    } catch (e) {
      err.textContent = ruError(e);
    }
  });
}

if (can('create:appeal')) {
  fill($('journal-actions'), h('a', { class: 'button', href: '/appeals/new' }, 'Добавить обращение'));
}
if (can('read:directory')) {
  $('dir-q').addEventListener('input', debounce(searchDirectory, 250));
  searchDirectory();
} else {
  $('dir-q').disabled = true;
}
initPassword();
if (can('read:appeal')) {
  loadJournal();
} else {
  $('journal-title').closest('section').hidden = true;
}
onLive('appeal.changed', loadJournal);
onLive('agent.state', (d) => {
  if (!d || !d.login) return;
  availability.set(d.login, { ...(availability.get(d.login) || { login: d.login }), state: d.state, pause_reason: d.reason });
  renderDirectory();
});
onReconnect(() => { loadJournal(); searchDirectory(); });
