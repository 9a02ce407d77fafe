// ЕИР263 (manual 7.1): the insurance representative picks the medical
// organization, the informing type and the period, saves them, sees the
// persons in total, with a phone and already notified, and starts
// informing: the cards of those not notified yet, one after another.

import { api, h, fill, $, ruError } from './lib.js';
import './common.js';
import { SURVEY_KEY } from './survey-handoff.js';

const PARAMS_KEY = 'obzvon.informing';
let types = [];
let last = null; // the last counts' request

function typeOf(id) {
  return types.find((t) => t.id === id) || null;
}

function typeChanged() {
  const t = typeOf($('inf-type').value);
  fill($('inf-mo'), t && t.by_mo.length ? t.by_mo.map((m) => h('option', { value: m.mo_code }, `${m.mo_code} ${m.mo_name || ''}`.trim()))
    : h('option', { value: '' }, 'нет МО'));
  fill($('inf-period'), h('option', { value: '' }, 'Весь период'), (t ? t.periods : []).map((p) => h('option', { value: p }, p)));
}

async function load() {
  try {
    types = await api('GET', '/api/v1/surveys?kind=informing');
  } catch (e) {
    $('inf-error').textContent = ruError(e);
    return;
  }
  fill($('inf-type'), types.length ? types.map((t) => h('option', { value: t.id }, t.title)) : h('option', { value: '' }, 'нет кампаний информирования'));
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(PARAMS_KEY) || 'null'); } catch { saved = null; }
  if (saved && typeOf(saved.type)) $('inf-type').value = saved.type;
  typeChanged();
  if (saved && typeOf(saved.type)) {
    $('inf-mo').value = saved.mo;
    $('inf-period').value = saved.period;
  }
}

async function counts(ev) {
  if (ev) ev.preventDefault();
  $('inf-error').textContent = '';
  const params = { type: $('inf-type').value, mo: $('inf-mo').value, period: $('inf-period').value };
  if (!params.type) { $('inf-error').textContent = 'Выберите тип информирования.'; return; }
  // The choice is kept for the next visit («сохраняет выбранные параметры»).
  localStorage.setItem(PARAMS_KEY, JSON.stringify(params));
  try {
    const res = await api('POST', `/api/v1/surveys/${encodeURIComponent(params.type)}/contacts`, { mo: params.mo, period: params.period });
    last = { params, contacts: res.contacts };
    const c = res.counts;
    $('inf-counts-panel').hidden = false;
    fill($('inf-counts'), [['ВСЕГО', c.total], ['ИЗ НИХ С ТЕЛЕФОНОМ', c.with_phone], ['ОПОВЕЩЕНО', c.notified]].map(([k, v]) =>
      h('div', { class: 'tile' }, h('div', { class: 'muted' }, k), h('div', { class: 'value' }, String(v)))));
    const todo = res.contacts.filter((x) => x.phones > 0 && x.result !== 'reached');
    $('inf-start').disabled = !todo.length;
    $('inf-start').textContent = todo.length ? `Начать информирование (${todo.length})` : 'Все с телефоном оповещены';
  } catch (e) {
    $('inf-error').textContent = ruError(e);
  }
}

function start() {
  if (!last) return;
  const todo = last.contacts.filter((x) => x.phones > 0 && x.result !== 'reached');
  if (!todo.length) return;
  const t = typeOf(last.params.type);
  sessionStorage.setItem(SURVEY_KEY, JSON.stringify({ campaign: last.params.type, title: t ? t.title : '', list: todo.map((x) => x.id), index: 0, back: '/informing' }));
  location.assign('/surveys/card');
}

$('inf-type').addEventListener('change', typeChanged);
$('inf-form').addEventListener('submit', counts);
$('inf-start').addEventListener('click', start);
load();
