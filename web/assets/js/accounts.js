// Accounts (administrators manage, supervisors read): add, disable or
// enable, set a password or the SIP secret of the softphone.

import { api, can, viewer, h, fill, $, table, label, ruError, toast, busy, page } from './lib.js';
import './common.js';

let accounts = [];
let pending = null; // {login, kind: 'password'|'sip'}
const admin = can('create:account');

function render() {
  const f = $('acc-filter').value.trim().toLowerCase();
  const list = accounts.filter((a) => !f || [a.login, a.display_name, a.organization, a.extension].join(' ').toLowerCase().includes(f));
  fill($('acc-list'), table('', ['Логин', 'ФИО', 'Роли', 'Организация', 'Вн. номер', 'Очереди', 'Телефон', 'Состояние', admin ? 'Действия' : null].filter(Boolean),
    list.map((a) => h('tr', {},
      h('td', {}, a.login),
      h('td', {}, a.display_name || ''),
      h('td', {}, (a.roles || []).map((r) => label('role', r)).join(', ')),
      h('td', {}, a.organization || ''),
      h('td', {}, a.extension || ''),
      h('td', {}, (a.queues || []).join(', ')),
      h('td', {}, a.has_sip ? 'настроен' : 'нет'),
      h('td', {}, a.disabled ? h('span', { class: 'badge badge-danger' }, 'отключён') : h('span', { class: 'badge badge-on' }, 'активен')),
      admin ? h('td', {}, h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn-small btn-secondary', 'aria-label': 'Задать пароль ' + a.login, onclick: () => ask(a, 'password') }, 'Пароль'),
        h('button', { type: 'button', class: 'btn-small btn-secondary', 'aria-label': 'Задать SIP-пароль ' + a.login, onclick: () => ask(a, 'sip') }, 'SIP-пароль'),
        a.login === viewer.login ? null : h('button', {
          type: 'button', class: 'btn-small ' + (a.disabled ? '' : 'btn-danger'), 'aria-label': (a.disabled ? 'Включить ' : 'Отключить ') + a.login,
          onclick: (e) => toggle(a, e.currentTarget),
        }, a.disabled ? 'Включить' : 'Отключить'))) : null)), 'Учётных записей нет.'));
}

async function load() {
  try {
    accounts = await api('GET', '/api/v1/accounts');
    accounts.sort((x, y) => x.login.localeCompare(y.login));
    render();
  } catch (e) {
    fill($('acc-list'), h('p', { class: 'error' }, ruError(e)));
  }
}

async function toggle(a, button) {
  try {
    await busy(button, () => api('POST', `/api/v1/accounts/${encodeURIComponent(a.login)}/${a.disabled ? 'enable' : 'disable'}`, {}));
    toast(a.disabled ? `${a.login} снова может войти` : `${a.login} отключён: его сеансы завершены`);
    load();
  } catch (e) {
    toast(ruError(e), true);
  }
}

function ask(a, kind) {
  pending = { login: a.login, kind };
  $('secret-title').textContent = kind === 'sip' ? 'SIP-пароль программного телефона' : 'Пароль для входа';
  $('secret-label').textContent = kind === 'sip' ? 'Новый SIP-пароль' : 'Новый пароль (не короче 12 знаков)';
  $('secret-who').textContent = `${a.display_name || a.login} (${a.login})`;
  $('secret-value').value = '';
  $('secret-error').textContent = '';
  $('secret-dialog').showModal();
  $('secret-value').focus();
}

$('secret-form').addEventListener('submit', async (ev) => {
  if (ev.submitter && ev.submitter.value === 'cancel') return;
  ev.preventDefault();
  const v = $('secret-value').value;
  const path = `/api/v1/accounts/${encodeURIComponent(pending.login)}/${pending.kind === 'sip' ? 'sip-secret' : 'password'}`;
  try {
    await busy($('secret-go'), () => api('POST', path, pending.kind === 'sip' ? { secret: v } : { password: v }));
    $('secret-dialog').close();
    toast(pending.kind === 'sip' ? 'SIP-пароль задан' : 'Пароль задан: сеансы сотрудника завершены');
    load();
  } catch (e) {
    $('secret-error').textContent = ruError(e);
  }
});

function initNew() {
  $('acc-new-panel').hidden = false;
  fill($('n-roles'), h('legend', {}, 'Роли'), ((page.enums || {}).role || []).map((r) => h('label', {},
    h('input', { type: 'checkbox', name: 'role', value: r.code }), ' ' + r.name)));
  $('acc-new').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = $('n-error');
    err.textContent = '';
    const roles = [...document.querySelectorAll('input[name="role"]:checked')].map((x) => x.value);
    const body = {
      login: $('n-login').value.trim(), display_name: $('n-name').value.trim(), organization: $('n-org').value.trim(),
      extension: $('n-ext').value.trim(), queues: $('n-queues').value.split(',').map((x) => x.trim()).filter(Boolean),
      password: $('n-password').value, roles,
    };
    if (!body.login) { err.textContent = 'Укажите логин.'; $('n-login').focus(); return; }
    if (!body.display_name) { err.textContent = 'Укажите ФИО.'; $('n-name').focus(); return; }
    if (!roles.length) { err.textContent = 'Отметьте хотя бы одну роль.'; document.querySelector('input[name="role"]').focus(); return; }
    try {
      await busy($('n-go'), () => api('POST', '/api/v1/accounts', body));
      toast(`Сотрудник ${body.login} добавлен`);
      $('acc-new').reset();
      load();
    } catch (e) {
      err.textContent = ruError(e);
    }
  });
}

if (admin) initNew();
$('acc-filter').addEventListener('input', render);
load();
