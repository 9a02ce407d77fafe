// Catalogs: topics by kind with their answer scripts; loading the topic
// and script files; loading the insured registry with the report of
// rejected lines.

import { api, can, h, fill, $, table, label, options, ruError, toast, busy } from './lib.js';
import './common.js';

async function showTopics() {
  const kind = $('cat-kind').value;
  try {
    const topics = await api('GET', '/api/v1/catalog/topics' + (kind ? '?kind=' + kind : ''));
    fill($('topics'), topics.length ? topics.map((t) => h('details', {},
      h('summary', {}, `${t.title} `, h('span', { class: 'muted' }, `(${t.id}; ключевые слова: ${(t.keywords || []).join(', ') || '—'})`)),
      h('div', { dataset: { topic: t.id } }, h('p', { class: 'muted' }, 'Сценарии загружаются при открытии.')))) : h('p', { class: 'muted' }, 'Тематик нет.'));
    for (const d of $('topics').querySelectorAll('details')) {
      d.addEventListener('toggle', async () => {
        if (!d.open || d.dataset.loaded) return;
        d.dataset.loaded = '1';
        const box = d.querySelector('div');
        try {
          const ss = await api('GET', `/api/v1/catalog/topics/${encodeURIComponent(box.dataset.topic)}/scripts`);
          fill(box, ss.length ? ss.map((s) => h('article', { class: 'script' }, h('h3', {}, s.title), h('p', {}, s.text),
            (s.recommended_operators || []).length ? h('p', { class: 'muted' }, 'Рекомендованные операторы: ' +
              s.recommended_operators.map((o) => `${o.display_name || o.login}${o.extension ? ' (вн. ' + o.extension + ')' : ''}`).join(', ')) : null))
            : h('p', { class: 'muted' }, 'Сценариев нет.'));
        } catch (e) {
          fill(box, h('p', { class: 'error' }, ruError(e)));
        }
      });
    }
  } catch (e) {
    fill($('topics'), h('p', { class: 'error' }, ruError(e)));
  }
}

async function readJSON(input, what) {
  const f = input.files[0];
  if (!f) throw new Error(`выберите файл: ${what}`);
  try {
    return JSON.parse(await f.text());
  } catch {
    throw new Error(`${what}: файл ${f.name} — не JSON`);
  }
}

function initCatalogLoad() {
  $('cat-load-panel').hidden = false;
  $('cat-load').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('cat-error');
    err.textContent = '';
    let topics;
    let scripts;
    try {
      topics = await readJSON($('cat-topics'), 'тематики');
      scripts = await readJSON($('cat-scripts'), 'сценарии');
    } catch (e) {
      err.textContent = 'Загрузка не выполнена: ' + e.message;
      return;
    }
    try {
      const r = await busy($('cat-go'), () => api('POST', '/api/v1/catalog/load', { topics, scripts }));
      toast(`Загружено тематик: ${r.topics}, сценариев: ${r.scripts}`);
      showTopics();
    } catch (e) {
      err.textContent = ruError(e);
    }
  });
}

// uploadRegistry sends the file as the request body with a progress bar
// (fetch has no upload progress; XMLHttpRequest has).
function uploadRegistry(file) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', '/api/v1/registry/load?name=' + encodeURIComponent(file.name));
    x.setRequestHeader('X-CSRF-Token', document.querySelector('meta[name="csrf-token"]').content);
    x.setRequestHeader('Content-Type', 'application/octet-stream');
    const bar = $('reg-progress');
    bar.hidden = false;
    bar.value = 0;
    x.upload.addEventListener('progress', (e) => { if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total); });
    x.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(x.responseText); } catch { /* not JSON */ }
      if (x.status >= 200 && x.status < 300) resolve(body);
      else reject(Object.assign(new Error((body && body.error) || x.statusText), { status: x.status }));
    });
    x.addEventListener('error', () => reject(Object.assign(new Error('Нет связи с сервером'), { status: 0 })));
    x.send(file);
  });
}

function initRegistryLoad() {
  $('reg-load-panel').hidden = false;
  $('reg-load').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('reg-error');
    err.textContent = '';
    const file = $('reg-file').files[0];
    if (!file) { err.textContent = 'Выберите файл реестра.'; return; }
    try {
      const r = await busy($('reg-go'), () => uploadRegistry(file));
      const errors = r.errors || [];
      fill($('reg-result'),
        h('p', {}, `Строк: ${r.rows}; добавлено: ${r.inserted}; обновлено: ${r.updated}; без изменений: ${r.unchanged}; отклонено: ${r.rejected}.`),
        errors.length ? table('Отклонённые строки', ['Строка', 'Столбец', 'Причина'], errors.map((x) => h('tr', {},
          h('td', { class: 'num' }, x.line), h('td', {}, x.column || ''), h('td', {}, x.reason || x.error || ''))), '') : null);
      toast('Реестр загружен');
    } catch (e) {
      err.textContent = e.status === 0 ? e.message : `Реестр не загружен (${e.status}): ${e.message}`;
    } finally {
      $('reg-progress').hidden = true;
    }
  });
}

fill($('cat-kind'), options('kind', '', 'Все'));
$('cat-kind').addEventListener('change', showTopics);
if (can('create:catalog')) initCatalogLoad();
if (can('create:registry')) initRegistryLoad();
showTopics();
