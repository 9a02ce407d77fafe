// One appeal (manual §6): the card, editing, closing with a resolution
// (forward with notice, deadline extension), the deferred answer, the
// administrator's approval, transfer to another specialist, documents,
// calls with their recordings, linked appeals and the history.

import {
  api, page, can, hasRole, viewer, h, fill, $, table, label, options, statusBadge, fmtDate, fmtDateTime,
  fmtDuration, personName, ruError, toast, busy, debounce, isoDate,
} from './lib.js';
import { onLive, features } from './common.js';
import { loadTopics, topicTitle } from './catalog-cache.js';

let a = page.appeal;

const manager = () => hasRole('admin') || hasRole('supervisor');
const handles = () => a.assignee === viewer.login || manager();

const moveNames = {
  close: 'Закрыто исполнителем', resume: 'Взято в работу', approve: 'Утверждено', return: 'Возвращено на доработку',
  transfer: 'Переадресовано',
};
const whatNames = { create: 'Создано', edit: 'Изменено', link: 'Связано с прежними', attach: 'Прикреплён документ', call: 'Связан звонок' };
const fieldRu = { phone: 'телефон', person: 'личные данные', kind: 'тип', topic: 'тематика', text: 'суть', channel: 'канал', due: 'срок' };

function noteRu(n) {
  return (n || '')
    .replace(/^forwarded to (\S+)/, 'переадресовано: $1')
    .replace(/^extension to (\S+) requested/, 'запрошено продление до $1')
    .replace(/^extension approved: due (\S+) → (\S+)/, 'продление утверждено: срок $1 → $2')
    .replace(/^extension refused/, 'в продлении отказано')
    .replace(/^transferred from (\S*) to (\S+)/, 'передано от $1 к $2');
}

function flash() {
  const m = sessionStorage.getItem('obzvon.flash');
  if (m) {
    sessionStorage.removeItem('obzvon.flash');
    toast(m);
  }
}

function renderFacts() {
  document.title = `Обращение ${a.number} — obzvon`;
  $('a-title').textContent = `Обращение № ${a.number}`;
  fill($('a-status'), statusBadge(a.status));
  const p = a.person || {};
  const overdue = a.status !== 'closed' && a.due && Date.parse(a.due) < Date.now();
  const rows = [
    ['Создано', `${fmtDateTime(a.created)}, ${a.created_by}`],
    ['Канал', label('channel', a.channel)],
    ['Телефон', a.phone || '—'],
    ['Обратившийся', personName(p) ? `${personName(p)}${p.birth ? ', ' + fmtDate(p.birth) : ''}` : '—'],
    p.enp ? ['ЕНП', p.enp] : null,
    p.address ? ['Адрес', p.address] : null,
    p.policy ? ['Полис', p.policy] : null,
    ['Тип', label('kind', a.kind)],
    ['Тематика', topicTitle(a.topic)],
    ['Суть', a.text],
    a.queue ? ['Очередь', a.queue] : null,
    ['Исполнитель', a.assignee],
    ['Срок', h('span', { class: overdue ? 'error' : '' }, fmtDate(a.due) + (overdue ? ' (просрочено)' : ''))],
    a.pending_due ? ['Запрошен срок', fmtDate(a.pending_due)] : null,
    a.resolution ? ['Результат', label('resolution', a.resolution)] : null,
    a.comment ? ['Комментарий', a.comment] : null,
    a.closed_at ? ['Закрыто', fmtDateTime(a.closed_at)] : null,
  ].filter(Boolean);
  fill($('a-facts'), rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

// ---- Editing -------------------------------------------------------------------

async function renderEdit() {
  const open = a.status === 'in_work' || a.status === 'deferred';
  $('edit-panel').hidden = !(open && handles() && can('update:appeal'));
  if ($('edit-panel').hidden) return;
  const p = a.person || {};
  fill($('e-kind'), options('kind', a.kind));
  fill($('e-channel'), options('channel', a.channel));
  $('e-phone').value = a.phone || '';
  $('e-surname').value = p.surname || '';
  $('e-name').value = p.name || '';
  $('e-patronymic').value = p.patronymic || '';
  $('e-birth').value = p.birth || '';
  $('e-address').value = p.address || '';
  $('e-text').value = a.text || '';
  await fillTopics(a.topic);
}

async function fillTopics(selected) {
  const kind = $('e-kind').value;
  const topics = (await loadTopics()).filter((t) => t.kind === kind && (!t.retired || t.id === selected));
  fill($('e-topic'), h('option', { value: '' }, '— выберите тематику —'), topics.map((t) => h('option', { value: t.id, selected: t.id === selected }, t.title)));
}

async function saveEdit(ev) {
  ev.preventDefault();
  const err = $('edit-error');
  err.textContent = '';
  const body = {};
  const p = a.person || {};
  const np = {
    ...p, surname: $('e-surname').value.trim(), name: $('e-name').value.trim(), patronymic: $('e-patronymic').value.trim(),
    birth: $('e-birth').value, address: $('e-address').value.trim(),
  };
  if ($('e-kind').value !== a.kind) body.kind = $('e-kind').value;
  if ($('e-topic').value !== a.topic) body.topic = $('e-topic').value;
  if ($('e-channel').value !== a.channel) body.channel = $('e-channel').value;
  if ($('e-phone').value.trim() !== (a.phone || '')) body.phone = $('e-phone').value.trim();
  if ($('e-text').value.trim() !== a.text) body.text = $('e-text').value;
  if (JSON.stringify(np) !== JSON.stringify({ ...p, surname: p.surname || '', name: p.name || '', patronymic: p.patronymic || '', birth: p.birth || '', address: p.address || '' })) body.person = np;
  if (!$('e-topic').value) {
    err.textContent = 'Выберите тематику обращения.';
    $('e-topic').focus();
    return;
  }
  if (!Object.keys(body).length) {
    toast('Изменений нет');
    return;
  }
  try {
    a = await busy($('edit-save'), () => api('PATCH', '/api/v1/appeals/' + encodeURIComponent(a.id), body));
    toast('Изменения сохранены');
    renderAll();
  } catch (e) {
    err.textContent = ruError(e);
  }
}

// ---- Close with a resolution (6.1) ------------------------------------------

function resolutionChanged() {
  const r = $('x-resolution').value;
  $('x-forward').hidden = r !== 'forwarded';
  $('x-extend').hidden = r !== 'extended';
  $('x-comment').previousElementSibling.textContent = r === 'extended' ? 'Причина продления срока' : 'Комментарий о принятых мерах';
}

function renderClose() {
  $('close-panel').hidden = !(a.status === 'in_work' && handles() && can('update:appeal'));
  if ($('close-panel').hidden) return;
  if (!$('x-resolution').options.length) {
    fill($('x-resolution'), options('resolution', '', '— выберите результат —'));
    const tomorrow = new Date(Math.max(Date.now(), Date.parse(a.due) || 0) + 86400000);
    $('x-due').min = isoDate(tomorrow);
  }
  resolutionChanged();
}

async function close(ev) {
  ev.preventDefault();
  const err = $('close-error');
  err.textContent = '';
  const resolution = $('x-resolution').value;
  const comment = $('x-comment').value.trim();
  const body = { resolution, comment };
  if (!resolution) { err.textContent = 'Выберите результат обращения.'; $('x-resolution').focus(); return; }
  if (resolution === 'forwarded') {
    body.to = $('x-to').value.trim();
    if (!body.to) { err.textContent = 'Укажите оператора, которому переадресовать обращение.'; $('x-to').focus(); return; }
  }
  if (resolution === 'extended') {
    body.new_due = $('x-due').value;
    if (!body.new_due) { err.textContent = 'Укажите новый срок рассмотрения.'; $('x-due').focus(); return; }
  }
  if (!comment) {
    err.textContent = resolution === 'extended' ? 'Опишите причину продления срока.' : 'Напишите комментарий о принятых мерах.';
    $('x-comment').focus();
    return;
  }
  try {
    a = await busy($('close-go'), () => api('POST', `/api/v1/appeals/${encodeURIComponent(a.id)}/close`, body));
    toast(a.status === 'deferred' ? `Обращение переадресовано: ${a.assignee}` : 'Обращение направлено администратору на рассмотрение');
    renderAll();
  } catch (e) {
    err.textContent = ruError(e);
  }
}

function directoryPicker(input, list, onPick) {
  input.addEventListener('input', debounce(async () => {
    const q = input.value.trim();
    if (q.length < 2 || !can('read:directory')) { list.replaceChildren(); return; }
    try {
      const hits = await api('GET', '/api/v1/directory?q=' + encodeURIComponent(q));
      fill(list, hits.filter((x) => x.login !== viewer.login).slice(0, 8).map((x) => h('li', {},
        h('span', {}, `${x.display_name || x.login}${x.extension ? ', вн. ' + x.extension : ''} — ${(x.roles || []).map((r) => label('role', r)).join(', ')}`),
        h('button', { type: 'button', class: 'btn-small btn-secondary', 'aria-label': 'Выбрать ' + (x.display_name || x.login), onclick: () => { input.value = x.login; list.replaceChildren(); onPick && onPick(x); } }, 'Выбрать'))));
    } catch { list.replaceChildren(); }
  }, 250));
}

// ---- Deferred answer (6.2) -----------------------------------------------------

function renderDeferred() {
  $('deferred-panel').hidden = !(a.status === 'deferred' && handles());
  if ($('deferred-panel').hidden) return;
  $('deferred-text').textContent = a.phone
    ? `Свяжитесь с обратившимся по номеру ${a.phone}, уточните детали, затем возьмите обращение в работу.`
    : 'Свяжитесь с обратившимся, уточните детали, затем возьмите обращение в работу.';
  $('callback').hidden = !(features.callback && a.phone);
}

async function resume() {
  try {
    a = await busy($('resume'), () => api('POST', `/api/v1/appeals/${encodeURIComponent(a.id)}/resume`, {}));
    toast('Обращение взято в работу');
    renderAll();
  } catch (e) {
    $('deferred-error').textContent = ruError(e);
  }
}

// callOutcome is what the operator reads about the call back's outcome
// (the "agent.call" event).
const callOutcome = {
  connected: 'Абонент ответил — разговор на вашем телефоне',
  busy: 'Абонент занят. Попробуйте позже',
  no_answer: 'Абонент не ответил',
  rejected: 'Абонент ответил, но звонок не удалось соединить с вашим телефоном',
  failed: 'Не удалось дозвониться',
};

let pendingCall = '';

async function callback() {
  $('deferred-error').textContent = '';
  try {
    const r = await busy($('callback'), () => api('POST', '/api/v1/agent/call', { appeal: a.id }));
    pendingCall = r.call_id;
    $('callback-status').textContent = 'Набираем ' + a.phone + '… Ответ абонента придёт на ваш телефон.';
  } catch (e) {
    $('deferred-error').textContent = ruError(e);
  }
}

onLive('agent.call', (d) => {
  if (!d || d.call_id !== pendingCall) return;
  pendingCall = '';
  const text = (callOutcome[d.result] || callOutcome.failed) + (d.result !== 'connected' && d.sip_code ? ` (код ${d.sip_code})` : '');
  $('callback-status').textContent = text;
  if (d.result !== 'connected') toast(text);
});

// ---- Administrator (6) ----------------------------------------------------------

function renderReview() {
  $('review-panel').hidden = !(a.status === 'under_review' && can('approve:appeal'));
  if ($('review-panel').hidden) return;
  $('review-text').textContent = a.pending_due
    ? `Исполнитель просит продлить срок с ${fmtDate(a.due)} до ${fmtDate(a.pending_due)}. Причина: ${a.comment || '—'}`
    : `Результат: ${label('resolution', a.resolution)}. Комментарий исполнителя: ${a.comment || '—'}`;
  $('approve').textContent = a.pending_due ? 'Утвердить продление' : 'Утвердить';
  $('return').textContent = a.pending_due ? 'Отказать в продлении' : 'Вернуть на доработку';
}

async function review(move) {
  const comment = $('r-comment').value.trim();
  const err = $('review-error');
  err.textContent = '';
  if (move === 'return' && !comment) {
    err.textContent = 'Напишите, что нужно доработать.';
    $('r-comment').focus();
    return;
  }
  try {
    a = await busy($(move), () => api('POST', `/api/v1/appeals/${encodeURIComponent(a.id)}/${move}`, { comment }));
    toast(move === 'approve' ? 'Утверждено' : 'Возвращено исполнителю');
    renderAll();
  } catch (e) {
    err.textContent = ruError(e);
  }
}

// ---- Transfer (5.1.8) --------------------------------------------------------------

function renderTransfer() {
  const open = a.status === 'in_work' || a.status === 'deferred';
  $('transfer-panel').hidden = !(open && (handles() || a.created_by === viewer.login) && can('update:appeal'));
}

async function transfer(ev) {
  ev.preventDefault();
  const to = $('tr-to').value.trim();
  const err = $('tr-error');
  err.textContent = '';
  if (!to) { err.textContent = 'Укажите внутренний номер или логин специалиста.'; $('tr-to').focus(); return; }
  try {
    a = await api('POST', `/api/v1/appeals/${encodeURIComponent(a.id)}/transfer`, { to });
    toast('Обращение передано: ' + a.assignee);
    $('tr-to').value = '';
    renderAll();
  } catch (e) {
    err.textContent = ruError(e);
  }
}

// ---- Documents, calls, links, history ------------------------------------------

function renderFiles() {
  const list = a.attachments || [];
  fill($('files'), table('', ['Файл', 'Номер документа', 'Дата регистрации', 'Размер', 'Добавил'], list.map((f) => h('tr', {},
    h('td', {}, h('a', { href: `/api/v1/appeals/${encodeURIComponent(a.id)}/attachments/${encodeURIComponent(f.id)}` }, f.file_name)),
    h('td', {}, f.doc_number),
    h('td', {}, fmtDate(f.registered)),
    h('td', { class: 'num' }, Math.ceil(f.size / 1024) + ' КБ'),
    h('td', {}, `${f.by}, ${fmtDateTime(f.added)}`))), 'Документов нет.'));
  $('file-form').hidden = !(a.status !== 'closed' && (handles() || a.created_by === viewer.login) && can('update:appeal'));
}

async function addFile(ev) {
  ev.preventDefault();
  const err = $('file-error');
  err.textContent = '';
  const file = $('f-file').files[0];
  if (!file || !$('f-number').value.trim() || !$('f-date').value) {
    err.textContent = 'Укажите файл, номер документа и дату его регистрации.';
    return;
  }
  const fd = new FormData();
  fd.append('doc_number', $('f-number').value.trim());
  fd.append('registered', $('f-date').value);
  fd.append('file', file, file.name);
  try {
    a = await api('POST', `/api/v1/appeals/${encodeURIComponent(a.id)}/attachments`, fd);
    $('file-form').reset();
    toast('Файл прикреплён');
    renderAll();
  } catch (e) {
    err.textContent = ruError(e);
  }
}

async function renderCalls() {
  const box = $('calls');
  if (!(a.calls || []).length) {
    fill(box, h('p', { class: 'muted' }, 'Звонков нет.'));
    return;
  }
  if (!can('read:call')) {
    fill(box, h('p', { class: 'muted' }, `Звонков: ${a.calls.length}.`));
    return;
  }
  try {
    const calls = await api('GET', `/api/v1/appeals/${encodeURIComponent(a.id)}/calls`);
    const canDownload = manager();
    fill(box, table('', ['Время', 'Направление', 'Номер', 'Длительность', 'Запись'], calls.map((c, i) => {
      const src = `/api/v1/appeals/${encodeURIComponent(a.id)}/calls/${encodeURIComponent(c.id)}/recording`;
      return h('tr', {},
        h('td', {}, c.missing ? '—' : fmtDateTime(c.arrived)),
        h('td', {}, c.direction === 'outbound' ? 'исходящий' : c.direction === 'inbound' ? 'входящий' : ''),
        h('td', {}, c.direction === 'outbound' ? c.to || '' : c.from || ''),
        h('td', { class: 'num' }, c.seconds ? fmtDuration(c.seconds) : ''),
        h('td', {}, c.has_recording && can('read:recording') ? [
          h('audio', { controls: true, preload: 'none', src, 'aria-label': `Запись звонка ${i + 1}` }),
          canDownload ? h('a', { href: src + '?download=1' }, 'Скачать') : null,
        ] : h('span', { class: 'muted' }, c.missing ? 'звонок ещё не записан в журнал' : 'записи нет')));
    }), ''));
  } catch (e) {
    fill(box, h('p', { class: 'error' }, ruError(e)));
  }
}

async function renderLinks() {
  const ids = a.links || [];
  if (!ids.length) {
    fill($('links'), h('p', { class: 'muted' }, 'Нет связанных обращений.'));
    return;
  }
  let numbers = new Map();
  const p = a.person || {};
  if (a.phone || p.enp || (p.surname && p.birth)) {
    try {
      const refs = await api('POST', '/api/v1/history/search', { phone: a.phone || '', person: { enp: p.enp || '', surname: p.surname || '', name: p.name || '', patronymic: p.patronymic || '', birth: p.birth || '' } });
      numbers = new Map(refs.map((r) => [r.id, r]));
    } catch { /* numbers are a convenience */ }
  }
  fill($('links'), h('ul', {}, ids.map((id) => {
    const r = numbers.get(id);
    return h('li', {}, h('a', { href: '/appeals/' + encodeURIComponent(id) }, r ? `№ ${r.number}` : 'обращение ' + id),
      r ? [' — ', label('kind', r.kind), ', ', statusBadge(r.status)] : null);
  })));
}

function renderChanges() {
  const rows = (a.history || []).map((c) => h('tr', {},
    h('td', {}, fmtDateTime(c.at)),
    h('td', {}, `${c.by} (${label('role', c.role)})`),
    h('td', {}, c.move ? moveNames[c.move] || c.move : whatNames[c.what] || c.what,
      c.fields && c.fields.length ? ': ' + c.fields.map((f) => fieldRu[f] || f).join(', ') : ''),
    h('td', {}, c.from && c.to && c.from !== c.to ? `${label('status', c.from)} → ${label('status', c.to)}` : c.to ? label('status', c.to) : ''),
    h('td', {}, c.resolution ? label('resolution', c.resolution) : ''),
    h('td', {}, noteRu(c.note))));
  fill($('changes'), table('', ['Когда', 'Кто', 'Что', 'Статус', 'Результат', 'Примечание'], rows, 'История пуста.'));
}

function renderAll() {
  renderFacts();
  renderEdit();
  renderClose();
  renderDeferred();
  renderReview();
  renderTransfer();
  renderFiles();
  renderCalls();
  renderLinks();
  renderChanges();
}

async function reload() {
  try {
    a = await api('GET', '/api/v1/appeals/' + encodeURIComponent(a.id));
    renderAll();
  } catch (e) {
    if (e.status === 403) toast('Обращение передано другому сотруднику', true);
  }
}

function init() {
  // Listeners first: a click must never find the page without them.
  $('e-kind').addEventListener('change', () => fillTopics(''));
  $('edit-form').addEventListener('submit', saveEdit);
  $('x-resolution').addEventListener('change', resolutionChanged);
  $('close-form').addEventListener('submit', close);
  directoryPicker($('x-to'), $('x-to-hits'));
  directoryPicker($('tr-to'), $('tr-hits'));
  $('resume').addEventListener('click', resume);
  $('callback').addEventListener('click', callback);
  $('approve').addEventListener('click', () => review('approve'));
  $('return').addEventListener('click', () => review('return'));
  $('tr-form').addEventListener('submit', transfer);
  $('file-form').addEventListener('submit', addFile);
  onLive('appeal.changed', (d) => {
    if (d && d.id === a.id && d.updated !== a.updated) reload();
  });
  renderAll();
  flash();
  // Topic titles arrive after the first paint.
  loadTopics().then(() => { renderFacts(); renderEdit(); });
}

init();
