// Campaign staff: create a campaign, upload its list (a progress bar as
// the file goes up and as the server reads it, then the report of every
// rejected line), start, pause, stop, watch the counts, export results.

import { api, can, h, fill, $, table, fmtDateTime, ruError, toast, busy } from './lib.js';
import { liveCells, liveHeads, showLive, sawAttempts } from './campaign-live.js';
import { onLive } from './common.js';

const statusNames = { created: 'Создана', running: 'Идёт', paused: 'Приостановлена', stopped: 'Остановлена', finished: 'Завершена' };
const kindNames = { screening: 'Диспансеризация', followup: 'Диспансерный учёт', informing: 'ЕИР263' };
const write = can('update:campaign');
let loadingFor = null;

function actions(c) {
  if (!write) return null;
  const b = (verb, text, cls) => h('button', {
    type: 'button', class: 'btn-small ' + (cls || 'btn-secondary'), 'aria-label': `${text}: ${c.title}`,
    onclick: (e) => move(c, verb, e.currentTarget),
  }, text);
  const out = [];
  if (c.status === 'created' || c.status === 'paused') out.push(b('start', c.status === 'paused' ? 'Продолжить' : 'Запустить', ' '));
  if (c.status === 'running') out.push(b('pause', 'Пауза'));
  if (c.status !== 'stopped' && c.status !== 'finished') out.push(b('stop', 'Остановить', 'btn-danger'));
  if (can('create:list') && c.status !== 'stopped') {
    out.push(h('button', { type: 'button', class: 'btn-small btn-secondary', 'aria-label': 'Загрузить список: ' + c.title, onclick: () => openLoad(c) }, 'Загрузить список'));
  }
  return out;
}

function exports(c) {
  const base = `/api/v1/campaigns/${encodeURIComponent(c.id)}/export`;
  return h('div', { class: 'actions' },
    h('a', { href: base + '?format=xlsx', 'aria-label': 'XLSX: результаты «' + c.title + '»' }, 'XLSX'),
    h('a', { href: base + '?format=csv', 'aria-label': 'CSV: результаты «' + c.title + '»' }, 'CSV'),
    h('a', { href: base + '?format=csv&encoding=cp1251', 'aria-label': 'CSV 1251: результаты «' + c.title + '» в Windows-1251' }, 'CSV 1251'));
}

async function load() {
  try {
    const list = await api('GET', '/api/v1/campaigns');
    const statuses = await Promise.all(list.map((c) => api('GET', '/api/v1/campaigns/' + encodeURIComponent(c.id)).catch(() => null)));
    statuses.forEach((st, i) => sawAttempts(list[i].id, st));
    fill($('cp-list'), table('', ['Кампания', 'Вид', 'Статус', 'Всего', 'С телефоном', 'Набрано', 'Дозвон', 'Отказ', 'Ждут', 'Исчерпаны',
      ...liveHeads, 'Действия', 'Результаты'],
      list.map((c, i) => {
        const t = (statuses[i] && statuses[i].report && statuses[i].report.total) || {};
        return h('tr', {},
          h('td', {}, h('strong', {}, c.title), h('div', { class: 'muted' }, `${c.id}, создана ${fmtDateTime(c.created)}`)),
          h('td', {}, kindNames[c.kind] || c.kind),
          h('td', {}, h('span', { class: 'badge ' + (c.status === 'running' ? 'badge-on' : c.status === 'paused' ? 'badge-warn' : 'badge-off') }, statusNames[c.status] || c.status),
            c.reason ? h('div', { class: 'muted' }, c.reason) : null),
          ...['total', 'with_phone', 'dialed', 'reached', 'refused'].map((k) => h('td', { class: 'num' }, String(t[k] ?? ''))),
          h('td', { class: 'num' }, String((t.waiting ?? 0) + (t.pending_retry ?? 0))),
          h('td', { class: 'num' }, String(t.exhausted ?? '')),
          ...liveCells(c, statuses[i]),
          h('td', {}, h('div', { class: 'actions' }, actions(c))),
          h('td', {}, exports(c)));
      }), 'Кампаний нет.'));
  } catch (e) {
    fill($('cp-list'), h('p', { class: 'error' }, ruError(e)));
  }
}

async function move(c, verb, button) {
  try {
    await busy(button, () => api('POST', `/api/v1/campaigns/${encodeURIComponent(c.id)}/${verb}`, {}));
    toast({ start: 'Кампания запущена', pause: 'Кампания приостановлена', stop: 'Кампания остановлена' }[verb] + ': ' + c.title);
    load();
  } catch (e) {
    toast(ruError(e), true);
  }
}

function openLoad(c) {
  loadingFor = c;
  $('cp-load-panel').hidden = false;
  $('cp-load-title').textContent = 'Загрузка списка: ' + c.title;
  $('cp-load-error').textContent = '';
  $('cp-load-stage').textContent = '';
  $('cp-load-result').replaceChildren();
  $('cp-load-file').focus();
}

// upload sends the list with ?progress=1: the upload's own progress, then
// the server's JSON lines ({"stage","done"}…, then the result) as they
// arrive.
function upload(c, file) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', `/api/v1/campaigns/${encodeURIComponent(c.id)}/load?progress=1&name=${encodeURIComponent(file.name)}`);
    x.setRequestHeader('X-CSRF-Token', document.querySelector('meta[name="csrf-token"]').content);
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    const bar = $('cp-load-progress');
    bar.hidden = false;
    bar.value = 0;
    x.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
        $('cp-load-stage').textContent = `Файл передаётся: ${bar.value} %`;
      }
    });
    let seen = 0;
    let last = null;
    const lines = () => {
      const text = x.responseText;
      const nl = text.lastIndexOf('\n');
      if (nl < seen) return;
      for (const line of text.slice(seen, nl).split('\n')) {
        if (!line.trim()) continue;
        let v = null;
        try { v = JSON.parse(line); } catch { continue; }
        if (v.stage) {
          $('cp-load-stage').textContent = v.stage === 'read' ? `Прочитано строк: ${v.done}` : `Записано людей: ${v.done}`;
        } else {
          last = v;
        }
      }
      seen = nl + 1;
    };
    x.addEventListener('progress', lines);
    x.addEventListener('load', () => {
      lines();
      if (x.status !== 200) {
        let msg = x.statusText;
        try { msg = JSON.parse(x.responseText).error || msg; } catch { /* not JSON */ }
        reject(Object.assign(new Error(msg), { status: x.status }));
      } else if (last && last.error) {
        reject(Object.assign(new Error(last.error), { status: 422 }));
      } else {
        resolve(last);
      }
    });
    x.addEventListener('error', () => reject(Object.assign(new Error('Нет связи с сервером'), { status: 0 })));
    x.send(file);
  });
}

async function submitLoad(ev) {
  ev.preventDefault();
  const err = $('cp-load-error');
  err.textContent = '';
  const file = $('cp-load-file').files[0];
  if (!file) { err.textContent = 'Выберите файл списка.'; return; }
  try {
    const r = await busy($('cp-load-go'), () => upload(loadingFor, file));
    $('cp-load-stage').textContent = 'Готово.';
    const errors = r.errors || [];
    const warnings = r.warnings || [];
    fill($('cp-load-result'),
      h('p', {}, `Строк: ${r.rows}; людей добавлено: ${r.inserted}, обновлено: ${r.updated}, без изменений: ${r.unchanged}; с телефоном: ${r.with_phone}; без телефона: ${r.no_phone}; строк с ошибками: ${errors.length}.`),
      errors.length ? table('Строки с ошибками (не загружены)', ['Строка', 'Столбец', 'Причина'], errors.map((x) => h('tr', {},
        h('td', { class: 'num' }, String(x.line)), h('td', {}, x.column || ''), h('td', {}, x.reason || '')))) : null,
      warnings.length ? table('Предупреждения', ['Строка', 'Столбец', 'Причина'], warnings.map((x) => h('tr', {},
        h('td', { class: 'num' }, String(x.line)), h('td', {}, x.column || ''), h('td', {}, x.reason || '')))) : null);
    toast('Список загружен');
    load();
  } catch (e) {
    err.textContent = e.status === 0 ? e.message : `Список не загружен: ${e.message}`;
  } finally {
    $('cp-load-progress').hidden = true;
  }
}

async function initNew() {
  $('cp-new-panel').hidden = false;
  try {
    const scripts = await api('GET', '/api/v1/scripts');
    fill($('cp-script'), scripts.map((s) => h('option', { value: s.name }, `${s.title} (${s.name})`)));
  } catch (e) {
    $('cp-new-error').textContent = ruError(e);
  }
  $('cp-new').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('cp-new-error');
    err.textContent = '';
    const body = {
      id: $('cp-id').value.trim(), title: $('cp-title').value.trim(), script: $('cp-script').value,
      settings: { mode: $('cp-mode').value, max_attempts: Number($('cp-attempts').value) || 0, weekdays: $('cp-weekdays').value.trim(), weekend: $('cp-weekend').value.trim() },
    };
    if (!body.id) { err.textContent = 'Укажите код кампании.'; $('cp-id').focus(); return; }
    if (!body.title) { err.textContent = 'Укажите название.'; $('cp-title').focus(); return; }
    try {
      await busy($('cp-create'), () => api('POST', '/api/v1/campaigns', body));
      toast('Кампания создана: ' + body.title);
      $('cp-new').reset();
      load();
    } catch (e) {
      err.textContent = ruError(e);
    }
  });
}

if (can('create:campaign')) initNew();
$('cp-load').addEventListener('submit', submitLoad);
$('cp-load-close').addEventListener('click', () => { $('cp-load-panel').hidden = true; });
load();
onLive('campaign.changed', load);
onLive('campaign.stats', (d) => { if (showLive(d)) load(); });
