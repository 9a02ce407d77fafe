// The registration card of a new appeal (manual 5.1.2–5.1.7, 5.2.1):
// registry search and attach, kind → topic with keyword search, the
// topic's answer scripts with their recommended level-2 operators, the
// person's data, the appeal history with tick-to-link, save → in_work.

import {
  api, can, h, fill, $, table, label, options, statusBadge, fmtDate, fmtDateTime, personName, debounce,
  ruError, toast, busy, hasRole, viewer,
} from './lib.js';
import { onLive, live, features, currentCall, openTransfer, CALL_KEY, agentStateName } from './common.js';
import { loadTopics, topicTitle } from './catalog-cache.js';

const FLASH_KEY = 'obzvon.flash';

const card = {
  call: null,        // the call this card is for: {call_id, caller, queue, …}
  attached: false,   // person fields come from the registry
  links: new Set(),  // ids of earlier appeals to link
  files: [],         // {file, doc_number, registered}
  agents: new Map(), // availability by login
};

// ---- Call context --------------------------------------------------------

function takeCall(call) {
  card.call = call || null;
  const note = $('card-call');
  if (!call) {
    note.hidden = true;
    return;
  }
  note.hidden = false;
  note.textContent = `Звонок ${call.caller || 'со скрытого номера'}${call.queue ? ', очередь ' + call.queue : ''}: карта будет связана со звонком и его записью.`;
  $('c-channel').value = 'phone';
  channelChanged();
  if (call.caller && !$('c-phone').value) {
    $('c-phone').value = call.caller;
    findByPhone();
  }
}

// A card opened by «Добавить» is for that call; one opened half an hour
// later (not saved, tab kept) is not.
const CALL_FRESH_MS = 30 * 60 * 1000;

function initialCall() {
  const saved = sessionStorage.getItem(CALL_KEY);
  if (saved) {
    try {
      const c = JSON.parse(saved);
      if (Date.now() - (c.opened || 0) < CALL_FRESH_MS) return c;
    } catch { /* ignore */ }
    sessionStorage.removeItem(CALL_KEY);
  }
  return currentCall();
}

// ---- Registry search (5.1.3) ---------------------------------------------

function registryRows(list) {
  return list.map((p) => h('tr', {},
    h('td', { class: 'person-cell' }, h('strong', {}, personName(p)), fmtDate(p.birth),
      p.mo_name || p.mo_code ? h('span', { class: 'muted' }, ', МО ' + (p.mo_name || p.mo_code)) : null),
    h('td', {}, p.enp, p.phone ? h('div', { class: 'nowrap' }, p.phone) : null),
    h('td', {}, h('button', { type: 'button', class: 'btn-small', 'aria-label': 'Прикрепить ' + personName(p), onclick: () => attach(p) }, 'Прикрепить'))));
}

function showRegistry(list, caption) {
  fill($('rs-results'), table(caption, ['ФИО, дата рождения', 'ЕНП, телефон', ''], registryRows(list), 'В реестре не найдено.'));
}

async function searchRegistry() {
  const q = { surname: $('rs-surname').value.trim(), name: $('rs-name').value.trim(), patronymic: $('rs-patronymic').value.trim(), birth: $('rs-birth').value };
  $('rs-error').textContent = '';
  if (!q.surname && !q.name && !q.patronymic && !q.birth) {
    $('rs-error').textContent = 'Заполните хотя бы одно поле: фамилию, имя, отчество или дату рождения.';
    $('rs-surname').focus();
    return;
  }
  try {
    showRegistry(await busy($('rs-search'), () => api('POST', '/api/v1/registry/search', q)), 'Найдено в реестре');
  } catch (e) {
    $('rs-error').textContent = ruError(e);
  }
}

async function findByPhone() {
  const phone = $('c-phone').value.trim();
  if (phone.replace(/\D/g, '').length < 10) return;
  refreshHistory();
  if (!can('read:person') || card.attached) return;
  try {
    const list = await api('POST', '/api/v1/registry/search', { phone });
    if (list.length) showRegistry(list, 'По номеру телефона в реестре');
  } catch { /* a typed number may be malformed: the card says so on save */ }
}

function setPerson(p) {
  $('p-surname').value = p.surname || '';
  $('p-name').value = p.name || '';
  $('p-patronymic').value = p.patronymic || '';
  $('p-birth').value = p.birth || '';
  $('p-enp').value = p.enp || '';
  $('p-address').value = p.address || '';
}

function attach(p) {
  setPerson(p);
  card.attached = true;
  for (const id of ['p-enp', 'p-surname', 'p-name', 'p-patronymic', 'p-birth']) $(id).readOnly = true;
  $('p-detach').hidden = false;
  $('person-attached').textContent = `Прикреплён из реестра: ${personName(p)}, ${fmtDate(p.birth)}, ЕНП ${p.enp}.`;
  if (!$('c-phone').value && p.phone) $('c-phone').value = p.phone;
  toast('Сведения о застрахованном прикреплены к карте');
  refreshHistory();
  $('c-kind').focus();
}

function detach() {
  card.attached = false;
  for (const id of ['p-enp', 'p-surname', 'p-name', 'p-patronymic', 'p-birth']) $(id).readOnly = false;
  $('p-enp').value = '';
  $('p-detach').hidden = true;
  $('person-attached').textContent = 'Сведения заполняются вручную или кнопкой «Прикрепить» в результатах поиска по реестру.';
}

function person() {
  return {
    enp: $('p-enp').value.trim(), surname: $('p-surname').value.trim(), name: $('p-name').value.trim(),
    patronymic: $('p-patronymic').value.trim(), birth: $('p-birth').value, address: $('p-address').value.trim(),
    policy: $('p-policy').value.trim(),
  };
}

// ---- History with tick-to-link (5.1.7) ------------------------------------

async function refreshHistory() {
  const box = $('history');
  const phone = $('c-phone').value.trim();
  const p = person();
  const byPerson = p.enp || (p.surname && p.birth);
  const byPhone = phone.replace(/\D/g, '').length >= 10;
  if (!byPerson && !byPhone) return;
  const q = { phone: byPhone ? phone : '', person: byPerson ? { enp: p.enp, surname: p.surname, name: p.name, patronymic: p.patronymic, birth: p.birth } : {} };
  try {
    const refs = await api('POST', '/api/v1/history/search', q);
    const rows = refs.map((r) => h('tr', {},
      h('td', {}, h('input', {
        type: 'checkbox', id: 'link-' + r.id, checked: card.links.has(r.id), 'aria-label': 'Связать с обращением ' + r.number,
        onchange: (e) => (e.target.checked ? card.links.add(r.id) : card.links.delete(r.id)),
      })),
      h('td', {}, h('a', { href: '/appeals/' + encodeURIComponent(r.id), target: '_blank', rel: 'noopener' }, r.number)),
      h('td', {}, fmtDateTime(r.created)),
      h('td', {}, label('kind', r.kind)),
      h('td', {}, topicTitle(r.topic)),
      h('td', {}, statusBadge(r.status)),
      h('td', {}, r.assignee)));
    fill(box, table('', ['Связать', 'Номер', 'Дата', 'Тип', 'Тематика', 'Статус', 'Исполнитель'], rows, 'Прежних обращений нет.'));
  } catch (e) {
    fill(box, h('p', { class: 'error' }, ruError(e)));
  }
}

// ---- Kind, topic, scripts (5.1.4–5.1.5) ------------------------------------

async function kindChanged(selectTopic) {
  const kind = $('c-kind').value;
  const sel = $('c-topic');
  if (!kind) {
    fill(sel, h('option', { value: '' }, '— сначала выберите тип —'));
    return;
  }
  const topics = (await loadTopics()).filter((t) => t.kind === kind && !t.retired);
  fill(sel, h('option', { value: '' }, '— выберите тематику —'), topics.map((t) => h('option', { value: t.id, selected: t.id === selectTopic }, t.title)));
  if (selectTopic) topicChanged();
}

async function pickTopic(t) {
  $('c-kind').value = t.kind;
  await kindChanged(t.id);
  $('c-topic-hits').replaceChildren();
  $('c-topic-q').value = '';
  $('c-text').focus();
}

const searchTopics = debounce(async () => {
  const q = $('c-topic-q').value.trim();
  const list = $('c-topic-hits');
  if (q.length < 2) { list.replaceChildren(); return; }
  try {
    const kind = $('c-kind').value;
    const hits = await api('GET', '/api/v1/catalog/search?q=' + encodeURIComponent(q) + (kind ? '&kind=' + kind : ''));
    fill(list, hits.topics.length ? hits.topics.map((t) => h('li', {},
      h('span', {}, `${t.title} (${label('kind', t.kind)})`),
      h('button', { type: 'button', class: 'btn-small btn-secondary', 'aria-label': 'Выбрать тематику ' + t.title, onclick: () => pickTopic(t) }, 'Выбрать')))
      : h('li', {}, 'Ничего не найдено'));
  } catch (e) {
    fill(list, h('li', { class: 'error' }, ruError(e)));
  }
}, 250);

async function loadAgents() {
  if (!features.agents) return;
  try {
    card.agents = new Map((await api('GET', '/api/v1/agents')).map((a) => [a.login, a]));
  } catch { /* availability is a hint */ }
}

function scriptView(s) {
  const rec = s.recommended_operators || [];
  return h('article', { class: 'script' },
    h('h3', {}, s.title),
    h('p', {}, s.text),
    rec.length ? h('div', { class: 'recommended' },
      h('span', { class: 'muted' }, 'Рекомендованные операторы 2-го уровня:'),
      rec.map((o) => {
        const a = card.agents.get(o.login);
        return h('span', { class: 'recommended' },
          h('span', {}, `${o.display_name || o.login}${o.extension ? ', вн. ' + o.extension : ''}`),
          a ? h('span', { class: 'state-' + a.state }, '(' + agentStateName(a.state, a.pause_reason) + ')') : null,
          features.transfer && o.extension ? h('button', {
            type: 'button', class: 'btn-small', 'aria-label': 'Перевести звонок на ' + (o.display_name || o.login),
            onclick: () => (card.call || currentCall() ? openTransfer(o.extension) : toast('Сейчас нет звонка для перевода', true)),
          }, 'Перевести звонок') : null,
          h('button', {
            type: 'button', class: 'btn-small btn-secondary', 'aria-label': 'Назначить исполнителем ' + (o.display_name || o.login),
            onclick: () => { $('c-assignee').value = o.login; toast('Исполнитель: ' + (o.display_name || o.login)); },
          }, 'Назначить исполнителем'));
      })) : null);
}

async function topicChanged() {
  const topic = $('c-topic').value;
  const box = $('scripts');
  if (!topic) {
    fill(box, h('p', { class: 'muted' }, 'Выберите тематику, чтобы увидеть её сценарии.'));
    return;
  }
  try {
    const [scripts] = await Promise.all([api('GET', `/api/v1/catalog/topics/${encodeURIComponent(topic)}/scripts`), loadAgents()]);
    fill(box, scripts.length ? scripts.map(scriptView) : h('p', { class: 'muted' }, 'У тематики нет типовых сценариев: найдите другой по ключевым словам.'));
  } catch (e) {
    fill(box, h('p', { class: 'error' }, ruError(e)));
  }
}

const searchScripts = debounce(async () => {
  const q = $('sc-q').value.trim();
  if (q.length < 2) { topicChanged(); return; }
  const box = $('scripts');
  try {
    const [hits] = await Promise.all([api('GET', '/api/v1/catalog/search?q=' + encodeURIComponent(q)), loadAgents()]);
    fill(box, hits.scripts.length ? hits.scripts.map(scriptView) : h('p', { class: 'muted' }, 'Сценариев не найдено.'));
  } catch (e) {
    fill(box, h('p', { class: 'error' }, ruError(e)));
  }
}, 250);

// ---- Attachments (5.2.1) -----------------------------------------------------

function channelChanged() {
  $('attachments-panel').hidden = $('c-channel').value === 'phone' || !$('c-channel').value;
}

function renderFiles() {
  fill($('att-list'), card.files.map((f, i) => h('li', {},
    h('span', {}, `${f.file.name} — № ${f.doc_number} от ${fmtDate(f.registered)}`),
    h('button', { type: 'button', class: 'btn-small btn-secondary', 'aria-label': 'Убрать файл ' + f.file.name, onclick: () => { card.files.splice(i, 1); renderFiles(); } }, 'Убрать'))));
}

function addFile() {
  const file = $('att-file').files[0];
  const doc = $('att-number').value.trim();
  const date = $('att-date').value;
  if (!file || !doc || !date) {
    $('card-error').textContent = 'Для файла укажите сам файл, номер документа и дату его регистрации.';
    return;
  }
  $('card-error').textContent = '';
  card.files.push({ file, doc_number: doc, registered: date });
  $('att-file').value = '';
  $('att-number').value = '';
  renderFiles();
}

// ---- Save (5.1.6) --------------------------------------------------------------

function missing() {
  if (!$('c-channel').value) return ['c-channel', 'Выберите канал поступления.'];
  if (!$('c-kind').value) return ['c-kind', 'Выберите тип обращения.'];
  if (!$('c-topic').value) return ['c-topic', 'Выберите тематику обращения.'];
  if (!$('c-text').value.trim()) return ['c-text', 'Опишите суть обращения.'];
  const enp = $('p-enp').value.trim();
  if (enp && !/^\d{16}$/.test(enp)) return ['p-enp', 'ЕНП — это 16 цифр.'];
  return null;
}

async function save(ev) {
  ev.preventDefault();
  const err = $('card-error');
  err.textContent = '';
  const m = missing();
  if (m) {
    err.textContent = m[1];
    $(m[0]).focus();
    return;
  }
  const body = {
    channel: $('c-channel').value, phone: $('c-phone').value.trim(), person: person(), kind: $('c-kind').value,
    topic: $('c-topic').value, text: $('c-text').value, links: [...card.links], assignee: $('c-assignee').value.trim(),
  };
  if (card.call) {
    body.call_id = card.call.call_id || '';
    body.queue = card.call.queue || '';
  }
  const button = $('card-save');
  button.disabled = true;
  try {
    let a;
    try {
      a = await api('POST', '/api/v1/appeals', body);
    } catch (e) {
      // A call the journal has not recorded yet (still in progress):
      // save without it and link it from the appeal's page later.
      if (e.status === 422 && /^call_id/.test(e.message) && body.call_id) {
        delete body.call_id;
        a = await api('POST', '/api/v1/appeals', body);
        toast('Звонок ещё не записан в журнал: свяжите его с обращением позже', true);
      } else {
        throw e;
      }
    }
    const failed = [];
    for (const f of card.files) {
      const fd = new FormData();
      fd.append('doc_number', f.doc_number);
      fd.append('registered', f.registered);
      fd.append('file', f.file, f.file.name);
      try { await api('POST', `/api/v1/appeals/${encodeURIComponent(a.id)}/attachments`, fd); } catch (e) { failed.push(f.file.name + ': ' + ruError(e)); }
    }
    sessionStorage.removeItem(CALL_KEY);
    sessionStorage.setItem(FLASH_KEY, `Обращение ${a.number} сохранено в журнал со статусом «${label('status', a.status)}».` +
      (failed.length ? ' Не загружены файлы: ' + failed.join('; ') : ''));
    location.assign('/appeals/' + encodeURIComponent(a.id));
  } catch (e) {
    err.textContent = ruError(e);
    button.disabled = false;
  }
}

// ---- Start -------------------------------------------------------------------------

function init() {
  fill($('c-channel'), options('channel', 'phone'));
  fill($('c-kind'), options('kind', '', '— выберите тип —'));
  kindChanged();
  if (!hasRole('operator_l1') && (hasRole('operator_l2') || hasRole('rep_l2') || hasRole('rep_l3')) && !initialCall()) {
    $('c-channel').value = 'written';
  }
  channelChanged();
  $('c-channel').addEventListener('change', channelChanged);
  $('c-kind').addEventListener('change', () => kindChanged());
  $('c-topic').addEventListener('change', topicChanged);
  $('c-topic-q').addEventListener('input', searchTopics);
  $('sc-q').addEventListener('input', searchScripts);
  $('c-phone').addEventListener('change', findByPhone);
  $('p-birth').addEventListener('change', refreshHistory);
  $('p-surname').addEventListener('change', refreshHistory);
  $('rs-search').addEventListener('click', searchRegistry);
  for (const id of ['rs-surname', 'rs-name', 'rs-patronymic', 'rs-birth']) {
    $(id).addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); searchRegistry(); } });
  }
  $('rs-clear').addEventListener('click', () => {
    for (const id of ['rs-surname', 'rs-name', 'rs-patronymic', 'rs-birth']) $(id).value = '';
    $('rs-results').replaceChildren();
    $('rs-error').textContent = '';
    $('rs-surname').focus();
  });
  $('registry-toggle').addEventListener('click', (e) => {
    const body = $('registry-body');
    body.hidden = !body.hidden;
    e.currentTarget.textContent = body.hidden ? 'Показать' : 'Скрыть';
    e.currentTarget.setAttribute('aria-expanded', String(!body.hidden));
  });
  $('p-detach').addEventListener('click', detach);
  $('att-add').addEventListener('click', addFile);
  $('card-form').addEventListener('submit', save);
  if (!can('read:person')) $('registry').hidden = true;
  takeCall(initialCall());
  live.addEventListener('card.call', (e) => takeCall(e.detail));
  // Opened from the menu during a call: the call is known once the phone
  // bar has loaded.
  live.addEventListener('phone', () => { if (!card.call && currentCall()) takeCall(currentCall()); });
  onLive('call.connected', (d) => { if (d && !card.call && d.login === viewer.login) takeCall(currentCall()); });
  $('rs-surname').focus();
}

init();
