// Helpers shared by every page of the desktop: the JSON API with the
// session's CSRF token, a small DOM builder, Russian labels and dates,
// messages. No dependencies.

const dataEl = document.getElementById('page-data');

/** Data the server put in the page (viewer, enums, ids). */
export const page = dataEl ? JSON.parse(dataEl.textContent || '{}') : {};

/** The signed-in account, or null on the login page. */
export const viewer = page.viewer || null;

/** can reports whether the viewer holds "action:resource". */
export function can(right) {
  return !!viewer && (viewer.rights || []).includes(right);
}

/** hasRole reports whether the viewer holds a role (code). */
export function hasRole(role) {
  return !!viewer && (viewer.roles || []).includes(role);
}

function csrf() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : '';
}

/** ApiError is a refused request: status and the server's message. */
export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** sessionEnded sends the user to the login page, back here after it. */
export function sessionEnded() {
  const next = location.pathname;
  location.assign('/login?expired=1&next=' + encodeURIComponent(next));
}

/**
 * api calls the JSON API. body: an object (sent as JSON), FormData, a
 * Blob/File (sent raw), or undefined. A 401 ends the session in the page.
 */
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  let payload;
  if (body instanceof FormData || body instanceof Blob) {
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf();
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'Нет связи с сервером');
  }
  if (res.status === 401 && !opts.noRedirect) {
    sessionEnded();
    throw new ApiError(401, 'Сеанс завершён');
  }
  if (res.status === 204) return null;
  const ct = res.headers.get('Content-Type') || '';
  const data = ct.includes('json') ? await res.json() : await res.text();
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || res.statusText, data);
  }
  return data;
}

const fieldNames = {
  text: 'Текст обращения', topic: 'Тематика', kind: 'Тип обращения', channel: 'Канал поступления',
  phone: 'Телефон', 'person.birth': 'Дата рождения', 'person.enp': 'ЕНП', birth: 'Дата рождения',
  assignee: 'Исполнитель', to: 'Оператор', new_due: 'Новый срок', comment: 'Комментарий',
  resolution: 'Результат обращения', password: 'Пароль', current: 'Текущий пароль', login: 'Логин',
  extension: 'Внутренний номер', surname: 'Фамилия', name: 'Имя', display_name: 'ФИО', roles: 'Роли',
  secret: 'SIP-пароль', doc_number: 'Номер документа', registered: 'Дата регистрации документа', file: 'Файл',
  q: 'Поиск', enp: 'ЕНП', target: 'Куда перевести', reason: 'Причина',
};

const reasons = [
  [/a comment on the measures taken is required/, 'нужен комментарий о принятых мерах'],
  [/a resolution is required/, 'выберите результат обращения'],
  [/needs the operator to forward to/, 'укажите оператора, которому переадресовать обращение'],
  [/needs the new due date/, 'укажите новый срок рассмотрения'],
  [/must be later than the current one/, 'новый срок должен быть позже текущего срока и сегодняшнего дня'],
  [/returning needs a comment/, 'напишите, что нужно доработать'],
  [/only the assigned operator/, 'это может сделать только исполнитель обращения или администратор'],
  [/already assigned to/, 'обращение уже назначено этому сотруднику'],
  [/only an appeal in work can be closed/, 'закрыть можно только обращение в статусе «В работе»'],
  [/only a deferred appeal can be resumed/, 'взять в работу можно только отсроченное обращение'],
  [/only an appeal under review/, 'действие возможно только для обращения «На рассмотрении»'],
  [/not yours to see/, 'обращение назначено другому сотруднику'],
  [/is empty/, 'не заполнено'],
  [/no account with login or extension/, 'нет сотрудника с таким логином или внутренним номером'],
  [/does not work on appeals/, 'этот сотрудник не работает с обращениями'],
  [/is not a date/, 'неверная дата'],
  [/is not in the catalog/, 'нет в справочнике'],
  [/not 16 digits/, 'ЕНП — это 16 цифр'],
  [/fill at least one of/, 'заполните хотя бы одно поле поиска'],
  [/give a phone or a person/, 'нужен телефон или данные обратившегося'],
  [/already exists/, 'уже существует'],
  [/too many failed logins/, 'слишком много неудачных попыток, подождите'],
  [/bad login or password/, 'неверный логин или пароль'],
  [/phone is not connected: start of work first/, 'ваш телефон не подключён: нажмите «Начало работы» в кабинете'],
  [/you are on a call/, 'вы на линии: завершите текущий разговор'],
  [/is not assigned to you/, 'обращение назначено другому сотруднику'],
  [/has no phone to call/, 'в обращении нет номера телефона'],
  [/only an appeal in work or deferred is called back/, 'перезвонить можно только по обращению «В работе» или «Отсрочено»'],
  [/no \[\[trunk\]\] is configured/, 'нет линии для исходящих звонков (не настроен транк)'],
  [/the operator cannot take a call now/, 'вы сейчас не можете принять звонок (на линии или не начали работу)'],
];

/** ruError turns an API error into a message in Russian. */
export function ruError(err) {
  if (!(err instanceof ApiError)) return 'Ошибка: ' + (err && err.message ? err.message : String(err));
  if (err.status === 0) return err.message;
  const prefix = {
    400: 'Запрос не принят', 401: 'Сеанс завершён', 403: 'Нет доступа', 404: 'Не найдено',
    409: 'Действие невозможно', 413: 'Файл слишком большой', 422: 'Проверьте данные', 429: 'Слишком много попыток',
  }[err.status] || (err.status >= 500 ? 'Сервер не смог выполнить действие' : 'Ошибка');
  let msg = err.message || '';
  const m = msg.match(/^([a-z_.\[\]0-9]+): (.*)$/);
  let field = '';
  if (m && fieldNames[m[1].replace(/\[\d+\]$/, '')]) {
    field = fieldNames[m[1].replace(/\[\d+\]$/, '')];
    msg = m[2];
  }
  for (const [re, ru] of reasons) {
    if (re.test(msg)) {
      return prefix + ': ' + (field ? field + ' — ' : '') + ru;
    }
  }
  if (err.status >= 500) return prefix + '. Попробуйте ещё раз.';
  return prefix + ': ' + (field ? field + ' — ' : '') + msg;
}

/**
 * h builds an element: h('button', {type: 'button', onclick: fn}, 'Текст').
 * Attributes starting with "on" become listeners; "dataset" and
 * "hidden"/"disabled"/"checked" are set as properties; children may be
 * strings, nodes, arrays or null.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'class') el.className = v;
    else if (k === 'hidden' || k === 'disabled' || k === 'checked' || k === 'selected' || k === 'value') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** $ returns the element with the id (or throws: a template is wrong). */
export function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error('no element #' + id);
  return el;
}

/** clear empties an element and appends children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const enumCache = page.enums || {};

/** label returns the Russian name of an enumeration value. */
export function label(kind, code) {
  const list = enumCache[kind] || [];
  const e = list.find((x) => x.code === code);
  return e ? e.name : (code || '');
}

/** options returns <option>s of an enumeration, with an empty first one. */
export function options(kind, selected, empty) {
  const out = [];
  if (empty !== undefined) out.push(h('option', { value: '' }, empty));
  for (const e of enumCache[kind] || []) {
    out.push(h('option', { value: e.code, selected: e.code === selected }, e.name));
  }
  return out;
}

/** statusBadge shows an appeal status. */
export function statusBadge(status) {
  return h('span', { class: 'badge status-' + status }, label('status', status));
}

function pad(n) { return String(n).padStart(2, '0'); }

/** fmtDate: 2026-11-27 or an ISO time → 27.11.2026 (local). */
export function fmtDate(v) {
  if (!v) return '';
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    const [y, m, d] = v.split('-');
    return `${d}.${m}.${y}`;
  }
  const t = new Date(v);
  if (isNaN(t) || t.getFullYear() < 1900) return '';
  return `${pad(t.getDate())}.${pad(t.getMonth() + 1)}.${t.getFullYear()}`;
}

/** fmtDateTime: an ISO time → 27.11.2026 14:05. */
export function fmtDateTime(v) {
  if (!v) return '';
  const t = new Date(v);
  if (isNaN(t) || t.getFullYear() < 1900) return '';
  // A no-break space: a date and its time stay on one line.
  return `${fmtDate(v)}\u00a0${pad(t.getHours())}:${pad(t.getMinutes())}`;
}

/** isoDate: a Date → YYYY-MM-DD (local). */
export function isoDate(t) {
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
}

/** fmtDuration: seconds → 1:05 or 1:02:03. */
/** fmtLevel shows a ratio such as a dial level with two decimals ("1,50"). */
export function fmtLevel(v) {
  return typeof v === 'number' && isFinite(v) ? v.toLocaleString('ru-RU', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) : '—';
}

/** fmtShare shows a fraction as a percentage with one decimal ("2,5 %"). */
export function fmtShare(v) {
  return typeof v === 'number' && isFinite(v) ? (100 * v).toLocaleString('ru-RU', { minimumFractionDigits: 1, maximumFractionDigits: 1 }) + ' %' : '—';
}

export function fmtDuration(s) {
  s = Math.max(0, Math.round(s || 0));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  return hh ? `${hh}:${pad(mm)}:${pad(ss)}` : `${mm}:${pad(ss)}`;
}

/** personName: "Иванова Анна Сергеевна". */
export function personName(p) {
  if (!p) return '';
  return [p.surname, p.name, p.patronymic].filter(Boolean).join(' ');
}

/** toast shows a short message in the corner for a few seconds. */
export function toast(msg, isError) {
  const box = document.getElementById('toast');
  if (!box) return;
  const el = h('div', { class: isError ? 'toast-error' : '' }, msg);
  box.append(el);
  setTimeout(() => el.remove(), isError ? 8000 : 4000);
}

/** busy disables a button while the promise runs. */
export async function busy(button, fn) {
  const was = button.disabled;
  button.disabled = true;
  try {
    return await fn();
  } finally {
    button.disabled = was;
  }
}

/** showError puts an error message in an element (role="alert"). */
export function showError(el, err) {
  el.textContent = err ? ruError(err) : '';
}

/** table builds a table with a caption, headers and rows of cells. */
export function table(caption, headers, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty || 'Нет записей.');
  const wrap = h('div', { class: 'table-wrap' },
    h('table', {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows)));
  // A table wider than its panel scrolls: the keyboard must reach it.
  new ResizeObserver(() => {
    const scrolls = wrap.scrollWidth > wrap.clientWidth;
    wrap.tabIndex = scrolls ? 0 : -1;
    if (scrolls) {
      wrap.setAttribute('role', 'region');
      wrap.setAttribute('aria-label', caption || 'Таблица, прокручивается по горизонтали');
    } else {
      wrap.removeAttribute('role');
      wrap.removeAttribute('aria-label');
      wrap.removeAttribute('tabindex');
    }
  }).observe(wrap);
  return wrap;
}

/** appealLink links to an appeal's page by id, labelled with its number. */
export function appealLink(ref) {
  return h('a', { class: 'appeal-link', href: '/appeals/' + encodeURIComponent(ref.id) }, ref.number);
}

/** debounce delays fn until the user stops typing. */
export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}

/** downloadBlob saves data under a file name (no URL with data in it). */
export function downloadBlob(name, type, data) {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/**
 * csvCell quotes a CSV cell and defuses spreadsheet formulas (a cell
 * starting with = + - @ tab or CR gets a leading apostrophe, per OWASP).
 */
export function csvCell(v) {
  let s = v === null || v === undefined ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return '"' + s.replace(/"/g, '""') + '"';
}
