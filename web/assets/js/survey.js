// The survey card of one insured person (manual 5.3.1 «Карточка
// застрахованного лица», 7.1 «Анкета ЗЛ»): the script's questions (the
// ones the answers lead to), a comment, refusal with its reason,
// reschedule, wrong phone / another person, save and the next card. In
// progressive and predictive campaigns it opens by itself when the call
// connects (see common.js).

import { api, h, fill, $, fmtDate, fmtDateTime, personName, ruError, toast, busy, viewer } from './lib.js';
import { currentCall, onLive, live, features, phone } from './common.js';
import { SURVEY_KEY } from './survey-handoff.js';

let handoff = null;
let card = null;
const answers = {};

function readHandoff() {
  try {
    handoff = JSON.parse(sessionStorage.getItem(SURVEY_KEY) || 'null');
  } catch {
    handoff = null;
  }
  return handoff && handoff.campaign && handoff.list && handoff.list.length;
}

function enp() {
  return handoff.list[handoff.index];
}

// ---- The path through the questions (as campaigns.Script.CheckAnswers) --

function nextAfter(q, i, value) {
  const qs = card.questions;
  if (q.next && Object.prototype.hasOwnProperty.call(q.next, value)) return q.next[value];
  if (q.then) return q.then;
  return i + 1 < qs.length ? qs[i + 1].id : 'end';
}

// onPath returns the ids of the questions asked given the answers so far.
function onPath() {
  const qs = card.questions;
  const ids = new Set();
  let id = qs.length ? qs[0].id : 'end';
  while (id !== 'end' && !ids.has(id)) {
    const i = qs.findIndex((q) => q.id === id);
    if (i < 0) break;
    const q = qs[i];
    ids.add(id);
    const v = (answers[id] || '').trim();
    if (!v) {
      if (q.then || !q.next || !Object.keys(q.next).length) {
        id = nextAfter(q, i, '');
        continue;
      }
      break; // the branch waits for this answer
    }
    id = nextAfter(q, i, v);
  }
  return ids;
}

function questionInput(q) {
  const name = 'q-' + q.id;
  const set = (v) => { answers[q.id] = v; renderVisibility(); };
  const req = q.required ? ' (обязательно)' : '';
  switch (q.type) {
    case 'yes_no':
    case 'choice': {
      const opts = q.type === 'yes_no' ? [{ value: 'yes', text: 'Да' }, { value: 'no', text: 'Нет' }] : q.options || [];
      return h('fieldset', { class: 'inline question', dataset: { q: q.id } },
        h('legend', {}, q.text + req),
        opts.map((o) => h('label', {}, h('input', {
          type: 'radio', name, value: o.value, checked: answers[q.id] === o.value, onchange: () => set(o.value),
        }), ' ' + o.text)));
    }
    case 'date':
    case 'number': {
      const attrs = { id: name, type: q.type, value: answers[q.id] || '', oninput: (e) => set(e.target.value) };
      if (q.type === 'number') {
        if (q.min !== undefined && q.min !== null) attrs.min = q.min;
        if (q.max !== undefined && q.max !== null) attrs.max = q.max;
      }
      return h('div', { class: 'question', dataset: { q: q.id } }, h('label', { for: name }, q.text + req), h('input', attrs));
    }
    default:
      return h('div', { class: 'question', dataset: { q: q.id } }, h('label', { for: name }, q.text + req),
        h('textarea', { id: name, value: answers[q.id] || '', oninput: (e) => set(e.target.value) }));
  }
}

function renderVisibility() {
  const path = onPath();
  for (const el of document.querySelectorAll('#sv-questions .question')) el.hidden = !path.has(el.dataset.q);
}

// ---- Rendering ---------------------------------------------------------------

function render() {
  const c = card.contact;
  document.title = `${personName(c)} — опрос — obzvon`;
  $('sv-title').textContent = `${card.script.title}: карточка застрахованного лица`;
  $('sv-pos').textContent = handoff.list.length > 1 ? `${handoff.index + 1} из ${handoff.list.length}` : '';
  $('sv-back').href = handoff.back || '/surveys';
  const phones = (c.phones || []).map((p) => p.number + (p.wrong ? ' (неверный)' : '')).join(', ') || 'нет';
  const rows = [
    ['ФИО', personName(c)], ['Дата рождения', fmtDate(c.birth)], ['ЕНП', c.id], ['Телефон', phones],
    ['МО', [c.mo_code, c.mo_name].filter(Boolean).join(' ')], c.period ? ['Период', c.period] : null,
    c.health_group ? ['Группа здоровья', c.health_group] : null, c.diagnosis ? ['Диагноз (МКБ-10)', c.diagnosis] : null,
  ].filter(Boolean);
  fill($('sv-person'), rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  renderActions();
  $('sv-intro').textContent = card.intro || '';
  $('sv-closing').textContent = card.closing ? 'В конце: ' + card.closing : '';
  for (const k of Object.keys(answers)) delete answers[k];
  Object.assign(answers, c.answers || {});
  fill($('sv-questions'), card.questions.map(questionInput));
  renderVisibility();
  $('sv-comment').value = c.comment || '';
  const results = card.script.results || [];
  fill($('sv-result-list'), results.map((r) => h('label', { class: 'inline-label' },
    h('input', { type: 'radio', name: 'sv-result', value: r, checked: c.result === r, onchange: resultChanged }), ' ' + resultName(r))));
  fill($('sv-refusal'), h('option', { value: '' }, '— выберите причину —'), (card.script.refusals || []).map((r) => h('option', { value: r.code, selected: c.refusal === r.code }, r.text)));
  resultChanged();
  $('sv-next').hidden = handoff.index + 1 >= handoff.list.length;
  showCall();
}

// showCall shows the call the card is open for. The phone's state may
// arrive after the card (the page opened by the call itself), so it is
// shown again whenever the phone's state comes.
function showCall() {
  const call = currentCall();
  $('sv-call').hidden = !call;
  if (call) $('sv-call').textContent = `Звонок ${call.caller || ''}${call.campaign ? ', кампания ' + call.campaign : ''}.`;
  renderDial();
}

// ---- «Позвонить» (preview; a callback the operator owns) ---------------------

// renderDial offers «Позвонить» when the operator dials this card: a
// running preview campaign, or a callback this operator owns in any
// mode; never during a call, never without a working phone.
function renderDial() {
  const c = card && card.contact;
  const mine = c && c.callback && c.callback.agent === viewer.login;
  const working = phone.me && phone.me.state && phone.me.state !== 'logged_out';
  const show = !!(features.agent && features.campaigns && card && card.running && (card.mode === 'preview' || mine) &&
    (c.phones || []).some((p) => !p.wrong) && c.status !== 'done');
  $('sv-dial').hidden = !show;
  $('sv-dial').disabled = !working || !!currentCall() || phone.me.state === 'reserved';
  $('sv-dial').title = !working ? 'Сначала нажмите «Начало работы» в кабинете' : '';
}

let dialing = '';

async function dial() {
  $('sv-error').textContent = '';
  try {
    const r = await busy($('sv-dial'), () => api('POST', `/api/v1/campaigns/${encodeURIComponent(handoff.campaign)}/dial`, { contact: card.contact.id }));
    dialing = r.attempt;
    $('sv-dial-status').textContent = `Набираем ${r.phone}… Ответ придёт на ваш телефон.`;
    renderDial();
  } catch (e) {
    $('sv-error').textContent = ruError(e);
  }
}

// The dialed call reached the operator, or ended without them: the
// operator's hold ends (the phone's state leaves «reserved») after the
// attempt's result is written, so the card read then shows it.
live.addEventListener('phone', async () => {
  if (!dialing) return;
  const call = currentCall();
  if (call && call.contact_id === dialing) {
    $('sv-dial-status').textContent = 'Абонент ответил — разговор на вашем телефоне.';
    dialing = '';
    return;
  }
  if (call || !phone.me || phone.me.state === 'reserved') return;
  const attempt = dialing;
  dialing = '';
  try {
    const fresh = await api('POST', `/api/v1/surveys/${encodeURIComponent(handoff.campaign)}/card`, { enp: enp() });
    card.contact = fresh.contact;
    const at = (fresh.contact.attempts || []).find((x) => x.id === attempt);
    $('sv-dial-status').textContent = at && at.result ? 'Не дозвонились: ' + resultName(at.result) + '.' : 'Вызов завершён без соединения.';
    renderActions();
    renderDial();
  } catch (e) {
    $('sv-error').textContent = ruError(e);
  }
});

// The call's notice goes when the call ends (the card stays to finish).
onLive('call.ended', (d) => {
  const c = currentCall();
  if (!c || !d || d.call_id === c.call_id) $('sv-call').hidden = true;
});

// renderActions shows what was done with the person so far.
function renderActions() {
  const c = card.contact;
  const acts = [
    ['Попыток', String((c.attempts || []).length)],
    ['Последний результат', c.result ? resultName(c.result) : 'нет ответа'],
    c.saved_at ? ['Сохранено', `${fmtDateTime(c.saved_at)}, ${c.saved_by}`] : null,
    c.callback ? ['Перезвонить', fmtDateTime(c.callback.at)] : null,
    c.refusal ? ['Причина отказа', refusalName(c.refusal)] : null,
  ].filter(Boolean);
  fill($('sv-actions'), acts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

function resultName(code) {
  return (card && card.result_names && card.result_names[code]) || code;
}

function refusalName(code) {
  const r = (card.script.refusals || []).find((x) => x.code === code);
  return r ? r.text : code;
}

function chosenResult() {
  const r = document.querySelector('input[name="sv-result"]:checked');
  return r ? r.value : '';
}

function resultChanged() {
  const r = chosenResult();
  $('sv-refusal-box').hidden = r !== 'refused';
  $('sv-callback-box').hidden = r !== 'rescheduled';
}

async function loadCard() {
  try {
    card = await api('POST', `/api/v1/surveys/${encodeURIComponent(handoff.campaign)}/card`, { enp: enp() });
    render();
    const first = document.querySelector('#sv-questions input, #sv-questions textarea');
    if (first) first.focus();
  } catch (e) {
    $('sv-error').textContent = ruError(e);
  }
}

async function save(ev) {
  ev.preventDefault();
  const err = $('sv-error');
  err.textContent = '';
  const result = chosenResult();
  if (!result) {
    err.textContent = 'Выберите результат звонка.';
    const r = document.querySelector('input[name="sv-result"]');
    if (r) r.focus();
    return false;
  }
  const path = onPath();
  const body = { enp: enp(), result, answers: {}, comment: $('sv-comment').value.trim() };
  for (const [k, v] of Object.entries(answers)) {
    if (path.has(k) && String(v).trim()) body.answers[k] = String(v).trim();
  }
  if (result === 'refused') {
    body.refusal = $('sv-refusal').value;
    if (!body.refusal) { err.textContent = 'Выберите причину отказа.'; $('sv-refusal').focus(); return false; }
  }
  if (result === 'rescheduled') {
    const at = $('sv-callback').value;
    if (!at) { err.textContent = 'Укажите, когда перезвонить.'; $('sv-callback').focus(); return false; }
    body.callback_at = new Date(at).toISOString();
    body.callback_mine = $('sv-callback-mine').checked;
  }
  try {
    card.contact = await busy($('sv-save'), () => api('POST', `/api/v1/surveys/${encodeURIComponent(handoff.campaign)}/card/save`, body));
    renderActions();
    toast(`Карточка сохранена: ${resultName(result)}`);
    return true;
  } catch (e) {
    err.textContent = ruError(e);
    return false;
  }
}

function next() {
  if (handoff.index + 1 >= handoff.list.length) return;
  handoff.index++;
  sessionStorage.setItem(SURVEY_KEY, JSON.stringify(handoff));
  $('sv-error').textContent = '';
  $('sv-callback').value = '';
  $('sv-callback-mine').checked = false;
  loadCard();
}

$('sv-form').addEventListener('submit', save);
$('sv-next').addEventListener('click', next);
$('sv-dial').addEventListener('click', dial);
if (readHandoff()) {
  loadCard();
} else {
  fill($('sv-questions'), h('p', {}, 'Карточка не выбрана: откройте её из ', h('a', { href: '/surveys' }, 'журнала опроса'), '.'));
  $('sv-save').disabled = true;
  $('sv-next').hidden = true;
}
