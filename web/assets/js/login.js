// The login page: POST /api/v1/login, then on to the page asked for.

import { api, ruError, $ } from './lib.js';

const form = $('login-form');
const err = $('login-error');

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.textContent = '';
  const login = $('login').value.trim();
  const password = $('password').value;
  if (!login || !password) {
    err.textContent = 'Введите логин и пароль.';
    (login ? $('password') : $('login')).focus();
    return;
  }
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await api('POST', '/api/v1/login', { login, password }, { noRedirect: true });
    const next = new URLSearchParams(location.search).get('next') || '/';
    // Only a path of this site: never another host.
    location.assign(next.startsWith('/') && !next.startsWith('//') ? next : '/');
  } catch (e) {
    err.textContent = e.status === 401 ? 'Неверный логин или пароль.' : ruError(e);
    $('password').value = '';
    $('password').focus();
    button.disabled = false;
  }
});
