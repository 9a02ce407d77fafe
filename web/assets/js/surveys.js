// The survey journals (manual 5.3): «Диспансеризация» and «Диспансерный
// учёт». Medical organizations with filters (year, name) → «Перейти» →
// the persons with filters (period, answer status, action) → «Просмотр»
// opens the card. The person chosen travels in this tab's session
// storage, never in the URL.

import { api, h, fill, $, table, fmtDate, fmtDateTime, ruError, personName } from './lib.js';
import { onLive } from './common.js';
import { SURVEY_KEY } from './survey-handoff.js';

let kind = 'screening';
let surveys = [];
let current = null; // the campaign shown
let mo = null; // {mo_code, mo_name}
let persons = [];

function campaignOf(id) {
  return surveys.find((s) => s.id === id) || null;
}

function renderTabs() {
  const tabs = [...document.querySelectorAll('.tabs button')];
  for (const b of tabs) {
    b.setAttribute('aria-selected', String(b.dataset.kind === kind));
    b.tabIndex = b.dataset.kind === kind ? 0 : -1;
  }
}

async function load() {
  try {
    surveys = await api('GET', '/api/v1/surveys?kind=' + kind);
  } catch (e) {
    fill($('sv-mos'), h('p', { class: 'error' }, ruError(e)));
    return;
  }
  fill($('sv-campaign'), surveys.length ? surveys.map((s) => h('option', { value: s.id }, `${s.title} (${s.id})`)) : h('option', { value: '' }, 'нет кампаний'));
  if (current && campaignOf(current.id)) $('sv-campaign').value = current.id;
  campaignChanged();
}

function campaignChanged() {
  current = campaignOf($('sv-campaign').value);
  const years = current ? [...new Set(current.periods.map((p) => p.slice(0, 4)))] : [];
  fill($('sv-year'), h('option', { value: '' }, 'Все'), years.map((y) => h('option', { value: y }, y)));
  renderMOs();
  $('sv-persons-panel').hidden = true;
}

function renderMOs() {
  if (!current) {
    fill($('sv-mos'), h('p', { class: 'muted' }, 'Кампаний опроса этого вида нет.'));
    return;
  }
  const q = $('sv-mo-q').value.trim().toLowerCase();
  const list = current.by_mo.filter((m) => !q || (m.mo_name || '').toLowerCase().includes(q) || (m.mo_code || '').includes(q));
  fill($('sv-mos'), table('', ['Код МО', 'Медицинская организация', 'Всего', 'С телефоном', 'Опрошено', 'Отказ', 'Ждут звонка', ''],
    list.map((m) => h('tr', {},
      h('td', {}, m.mo_code || '—'),
      h('td', {}, m.mo_name || ''),
      h('td', { class: 'num' }, String(m.total)),
      h('td', { class: 'num' }, String(m.with_phone)),
      h('td', { class: 'num' }, String(m.reached)),
      h('td', { class: 'num' }, String(m.refused)),
      h('td', { class: 'num' }, String(m.waiting + m.pending_retry)),
      h('td', {}, h('button', { type: 'button', class: 'btn-small', 'aria-label': 'Перейти к ' + (m.mo_name || m.mo_code), onclick: () => openMO(m) }, 'Перейти')))),
    'Медицинских организаций не найдено.'));
}

function openMO(m) {
  mo = m;
  $('sv-persons-panel').hidden = false;
  $('sv-persons-title').textContent = 'Застрахованные лица: ' + (m.mo_name || m.mo_code);
  const year = $('sv-year').value;
  fill($('sv-period'), h('option', { value: '' }, 'Все'),
    current.periods.filter((p) => !year || p.startsWith(year)).map((p) => h('option', { value: p }, p)));
  if (year) $('sv-period').value = current.periods.includes(year) ? year : '';
  fill($('sv-result'), h('option', { value: '' }, 'Все'), h('option', { value: 'none' }, 'Нет ответа'),
    current.results.map((r) => h('option', { value: r.code }, r.name)));
  fill($('sv-status'), h('option', { value: '' }, 'Все'), current.statuses.map((r) => h('option', { value: r.code }, r.name)));
  loadPersons();
  $('sv-period').focus();
}

const resultName = (code) => (current.results.find((r) => r.code === code) || {}).name || code || '—';
const statusName = (code) => (current.statuses.find((r) => r.code === code) || {}).name || code;

async function loadPersons(ev) {
  if (ev) ev.preventDefault();
  if (!current || !mo) return;
  try {
    const res = await api('POST', `/api/v1/surveys/${encodeURIComponent(current.id)}/contacts`, {
      mo: mo.mo_code || '', period: $('sv-period').value, result: $('sv-result').value, status: $('sv-status').value, surname: $('sv-surname').value.trim(),
    });
    persons = res.contacts;
    const c = res.counts;
    $('sv-counts').textContent = `Найдено: ${c.total}, с телефоном: ${c.with_phone}, опрошено: ${c.reached}${res.more ? ' (показаны первые ' + persons.length + ': уточните фильтры)' : ''}.`;
    const followup = current.kind === 'followup';
    const headers = ['ФИО', 'Дата рождения', 'Период'];
    if (followup) headers.push('Группа здоровья', 'Диагноз (МКБ-10)');
    headers.push('Действие', 'Статус ответа', 'Сохранено', '');
    fill($('sv-persons'), table('', headers, persons.map((p, i) => h('tr', {},
      h('td', {}, personName(p)),
      h('td', {}, fmtDate(p.birth)),
      h('td', {}, p.period || ''),
      followup ? h('td', {}, p.health_group || '') : null,
      followup ? h('td', {}, p.diagnosis || '') : null,
      h('td', {}, statusName(p.status)),
      h('td', {}, p.result ? resultName(p.result) : 'Нет ответа'),
      h('td', {}, p.saved_at ? `${fmtDateTime(p.saved_at)}, ${p.saved_by}` : ''),
      h('td', {}, h('button', { type: 'button', class: 'btn-small', 'aria-label': 'Просмотр: ' + personName(p), onclick: () => openCard(i) }, 'Просмотр')))),
    'Никого не нашлось.'));
  } catch (e) {
    fill($('sv-persons'), h('p', { class: 'error' }, ruError(e)));
  }
}

function openCard(i) {
  sessionStorage.setItem(SURVEY_KEY, JSON.stringify({
    campaign: current.id, title: current.title, list: persons.map((p) => p.id), index: i, back: '/surveys',
  }));
  location.assign('/surveys/card');
}

const tabs = [...document.querySelectorAll('.tabs button')];
for (const b of tabs) {
  b.addEventListener('click', () => { kind = b.dataset.kind; renderTabs(); load(); });
  b.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(b);
    const j = e.key === 'ArrowRight' ? (i + 1) % tabs.length : e.key === 'ArrowLeft' ? (i + tabs.length - 1) % tabs.length : -1;
    if (j >= 0) { kind = tabs[j].dataset.kind; renderTabs(); load(); tabs[j].focus(); }
  });
}
$('sv-campaign').addEventListener('change', campaignChanged);
$('sv-year').addEventListener('change', () => { $('sv-persons-panel').hidden = true; });
$('sv-mo-q').addEventListener('input', renderMOs);
$('sv-filter').addEventListener('submit', loadPersons);
renderTabs();
load();
onLive('campaign.changed', (d) => { if (current && d && d.campaign === current.id && mo) loadPersons(); });
