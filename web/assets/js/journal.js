// The journal (administrators and supervisors): appeals by status,
// period, assignee and kind, by phone or person (the query goes in the
// request body, never the URL), by number; export of a period as CSV or
// JSON (administrators; audited by the server).

import { api, can, h, fill, $, table, label, options, statusBadge, fmtDate, fmtDateTime, appealLink, ruError, toast, busy, downloadBlob, csvCell, personName } from './lib.js';
import { onLive } from './common.js';
import { loadTopics, topicTitle } from './catalog-cache.js';

let last = [];

function dayStart(d) { return d ? new Date(d + 'T00:00:00') : null; }
function dayEnd(d) { return d ? new Date(new Date(d + 'T00:00:00').getTime() + 86400000) : null; }

async function search(ev) {
  if (ev) ev.preventDefault();
  const err = $('jf-error');
  err.textContent = '';
  const number = $('jf-number').value.trim();
  if (number) {
    location.assign('/appeals/' + encodeURIComponent(number));
    return;
  }
  const status = $('jf-status').value;
  const phone = $('jf-phone').value.trim();
  const surname = $('jf-surname').value.trim();
  const birth = $('jf-birth').value;
  try {
    let list;
    if (phone || (surname && birth)) {
      list = await busy($('jf-go'), () => api('POST', '/api/v1/history/search', { phone, person: surname && birth ? { surname, birth } : {} }));
    } else if (surname || birth) {
      err.textContent = 'Для поиска по человеку нужны и фамилия, и дата рождения.';
      return;
    } else {
      list = await busy($('jf-go'), () => api('GET', '/api/v1/appeals?view=all&limit=1000' + (status ? '&status=' + status : '')));
    }
    const from = dayStart($('jf-from').value);
    const to = dayEnd($('jf-to').value);
    const assignee = $('jf-assignee').value.trim();
    const kind = $('jf-kind').value;
    last = list.filter((r) => (!status || r.status === status) && (!from || new Date(r.created) >= from) && (!to || new Date(r.created) < to) &&
      (!assignee || r.assignee === assignee) && (!kind || r.kind === kind));
    render();
  } catch (e) {
    err.textContent = ruError(e);
  }
}

function render() {
  $('jr-count').textContent = String(last.length);
  const now = Date.now();
  fill($('jr-list'), table('', ['Номер', 'Создано', 'Канал', 'Тип', 'Тематика', 'Статус', 'Исполнитель', 'Срок'], last.map((r) => h('tr', {
    class: r.status !== 'closed' && r.due && Date.parse(r.due) < now ? 'overdue' : '',
  },
  h('td', {}, appealLink(r)),
  h('td', {}, fmtDateTime(r.created)),
  h('td', {}, label('channel', r.channel)),
  h('td', {}, label('kind', r.kind)),
  h('td', {}, topicTitle(r.topic)),
  h('td', {}, statusBadge(r.status)),
  h('td', {}, r.assignee),
  h('td', {}, fmtDate(r.due)))), 'Ничего не найдено.'));
}

async function exportPeriod(format, button) {
  const from = dayStart($('jf-from').value);
  const to = dayEnd($('jf-to').value);
  if (!from || !to) {
    $('jf-error').textContent = 'Для выгрузки укажите период: «Создано с» и «по».';
    $('jf-from').focus();
    return;
  }
  try {
    const list = await busy(button, () => api('GET', `/api/v1/journal/appeals?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`));
    const name = `obrashcheniya-${$('jf-from').value}-${$('jf-to').value}`;
    if (format === 'json') {
      downloadBlob(name + '.json', 'application/json', JSON.stringify(list, null, 2));
    } else {
      const head = ['Номер', 'Создано', 'Автор', 'Канал', 'Телефон', 'ФИО', 'Дата рождения', 'ЕНП', 'Тип', 'Тематика', 'Суть', 'Исполнитель', 'Статус', 'Результат', 'Комментарий', 'Срок', 'Закрыто'];
      const lines = [head.map(csvCell).join(';')];
      for (const a of list) {
        lines.push([a.number, fmtDateTime(a.created), a.created_by, label('channel', a.channel), a.phone, personName(a.person), fmtDate(a.person && a.person.birth),
          a.person && a.person.enp, label('kind', a.kind), topicTitle(a.topic), a.text, a.assignee, label('status', a.status),
          a.resolution ? label('resolution', a.resolution) : '', a.comment, fmtDate(a.due), fmtDateTime(a.closed_at)].map(csvCell).join(';'));
      }
      // A byte order mark so spreadsheet programs read UTF-8.
      downloadBlob(name + '.csv', 'text/csv;charset=utf-8', '\ufeff' + lines.join('\r\n') + '\r\n');
    }
    toast(`Выгружено обращений: ${list.length}`);
  } catch (e) {
    $('jf-error').textContent = ruError(e);
  }
}

fill($('jf-status'), options('status', '', 'Все'));
fill($('jf-kind'), options('kind', '', 'Все'));
$('jf-form').addEventListener('submit', search);
$('jf-reset').addEventListener('click', () => { $('jf-form').reset(); search(); });
if (can('read:journal')) {
  $('export-actions').hidden = false;
  $('export-csv').addEventListener('click', (e) => exportPeriod('csv', e.currentTarget));
  $('export-json').addEventListener('click', (e) => exportPeriod('json', e.currentTarget));
}
loadTopics().then(() => search());
onLive('appeal.changed', () => { if (!$('jf-phone').value && !$('jf-surname').value) search(); });
