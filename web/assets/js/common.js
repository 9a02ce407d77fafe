// What every signed-in page has: the logout button, the live
// connection to the server (server-sent events) and, for operators, the
// softphone bar with the incoming-call alert.

import { api, page, viewer, can, sessionEnded, toast, ruError, $, h, fill, debounce, busy } from './lib.js';
import { openSurveyCard } from './survey-handoff.js';

/** features are the optional APIs the server has (ACD, campaigns). */
export const features = page.features || {};

/** live dispatches the server's events by type (detail = event data). */
export const live = new EventTarget();

let source = null;
const types = new Set(['appeal.changed', 'agent.state', 'call.offered', 'call.connected', 'call.ended',
  'queue.stats', 'campaign.changed', 'campaign.stats', 'survey.open']);

/** onLive calls fn(detail) for every event of type. */
export function onLive(type, fn) {
  live.addEventListener(type, (e) => fn(e.detail));
  if (!types.has(type)) {
    types.add(type);
    if (source) listen(source, type);
  }
}

/** onReconnect calls fn each time the stream (re)opens: reload state. */
export function onReconnect(fn) {
  live.addEventListener('hello', () => fn());
}

function listen(es, type) {
  es.addEventListener(type, (e) => {
    let detail = null;
    try { detail = JSON.parse(e.data); } catch { /* keep null */ }
    live.dispatchEvent(new CustomEvent(type, { detail }));
  });
}

function setLive(text, ok) {
  const el = document.getElementById('live');
  if (!el) return;
  el.textContent = text;
  el.classList.toggle('live-off', !ok);
}

function connect() {
  if (!viewer) return;
  const es = new EventSource('/api/v1/events');
  source = es;
  let opened = false;
  es.addEventListener('hello', () => {
    setLive('На связи', true);
    // The first hello is the page's start: its script loads state itself.
    if (opened) live.dispatchEvent(new CustomEvent('hello'));
    opened = true;
  });
  es.addEventListener('session.ended', () => {
    es.close();
    sessionEnded();
  });
  for (const t of types) listen(es, t);
  es.onerror = async () => {
    setLive('Нет связи с сервером, переподключение…', false);
    if (es.readyState === EventSource.CLOSED) {
      // Refused (not a network drop): is the session still alive?
      try {
        await api('GET', '/api/v1/me');
        setTimeout(connect, 3000);
      } catch (e) {
        if (e.status !== 401) setTimeout(connect, 5000);
      }
    }
  };
}

function initLogout() {
  const b = document.getElementById('logout');
  if (!b) return;
  b.addEventListener('click', async () => {
    try {
      await api('POST', '/api/v1/logout', undefined, { noRedirect: true });
    } catch { /* the session is gone either way */ }
    if (source) source.close();
    sessionStorage.clear();
    location.assign('/login?out=1');
  });
}

// ---- Softphone bar -------------------------------------------------------

const stateNames = {
  logged_out: 'Не в работе', ready: 'Свободен', reserved: 'Вызов назначается', talking: 'Разговаривает',
  wrap_up: 'Обработка после вызова', paused: 'Пауза',
};

/** agentStateName returns the Russian name of an operator state. */
export function agentStateName(state, reason) {
  // Held for a call the operator asked for (acd.HoldReason).
  if (state === 'reserved' && reason === 'outbound call') return 'Исходящий вызов';
  const n = stateNames[state] || state || '';
  return state === 'paused' && reason ? `${n}: ${reason}` : n;
}

/** phone is the operator's telephony state as the bar shows it. */
export const phone = { available: false, me: null, persons: new Map() };

let audio = null;

// unlockAudio turns the ring's sound on: a browser lets a page start
// sound only from the user's own action on it (a click, a key), so every
// click and key press tries until the sound is on. Outside such an action
// it does nothing: the browser would keep the sound off and warn.
function unlockAudio() {
  if (audio && audio.state === 'running') return;
  if (navigator.userActivation && !navigator.userActivation.isActive) return;
  if (!audio) {
    try { audio = new (window.AudioContext || window.webkitAudioContext)(); } catch { audio = null; return; }
  }
  if (audio.state === 'suspended') audio.resume().catch(() => { /* tried again at the next click */ });
}

/**
 * ring plays a short two-tone alert (incoming call): three times 880 Hz
 * then 660 Hz, six oscillators. Before the user's first click or key on
 * this page the sound is not on and it does nothing (the call bar shows
 * the call all the same).
 */
export function ring() {
  if (!audio || audio.state !== 'running') return;
  const t0 = audio.currentTime;
  for (let i = 0; i < 3; i++) {
    for (const [f, dt] of [[880, 0], [660, 0.18]]) {
      const o = audio.createOscillator();
      const g = audio.createGain();
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t0 + i * 0.6 + dt);
      g.gain.exponentialRampToValueAtTime(0.25, t0 + i * 0.6 + dt + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t0 + i * 0.6 + dt + 0.16);
      o.connect(g).connect(audio.destination);
      o.start(t0 + i * 0.6 + dt);
      o.stop(t0 + i * 0.6 + dt + 0.17);
    }
  }
}

/** currentCall returns the call the bar shows (or null). */
export function currentCall() {
  return phone.me && phone.me.call ? phone.me.call : null;
}

/** CALL_KEY keeps the call the card is opened for, in this tab only. */
export const CALL_KEY = 'obzvon.call';

/** CALL_APPEAL_KEY keeps {call_id, appeal_id} of the appeal saved for a call. */
export const CALL_APPEAL_KEY = 'obzvon.callAppeal';

function renderPhone() {
  const me = phone.me;
  const status = $('phone-status');
  if (!phone.available || !me) {
    status.textContent = 'Не активен';
    status.className = 'badge badge-off';
    $('phone-start').hidden = true;
    $('phone-finish').hidden = true;
    $('phone-pause-group').hidden = true;
    $('phone-ready').hidden = true;
    $('phone-wrapup').hidden = true;
    $('phone-state').textContent = '';
    $('phone-note').textContent = phone.available ? '' : 'Телефония на сервере не подключена.';
    return;
  }
  const working = !!me.state && me.state !== 'logged_out';
  // Ring mode has no session leg: working is being logged in.
  const up = me.session === 'up' || (me.delivery === 'ring' && working);
  const connecting = me.session === 'connecting';
  status.textContent = up ? 'Активен' : connecting ? 'Подключение…' : 'Не активен';
  status.className = 'badge ' + (up ? 'badge-on' : connecting ? 'badge-warn' : 'badge-off');
  $('phone-state').textContent = working ? agentStateName(me.state, me.pause_reason) : '';
  $('phone-start').hidden = working || connecting;
  $('phone-finish').hidden = !(working || connecting);
  $('phone-pause-group').hidden = !(me.state === 'ready');
  $('phone-ready').hidden = !(me.state === 'paused');
  $('phone-wrapup').hidden = me.state !== 'wrap_up';
  let note = '';
  if (me.session_error && !up) note = 'Телефон не подключился: ' + me.session_error;
  else if (!working && !connecting) note = 'Нажмите «Начало работы», чтобы принимать звонки (нужны гарнитура и программный телефон).';
  else if (connecting) note = 'Звоним на ваш телефон: ответьте, чтобы начать работу.';
  $('phone-note').textContent = note;
  renderCall();
}

function renderCall() {
  const call = currentCall();
  const box = $('call');
  if (!call) {
    box.hidden = true;
    box.classList.remove('ringing');
    return;
  }
  box.hidden = false;
  const outbound = call.direction === 'outbound';
  // An attended transfer in progress (the server says so: a reload or
  // another page keeps «Соединить» and «Вернуться к звонку»).
  const consulting = !!call.consulting;
  $('call-label').textContent = consulting ? 'Консультация с коллегой, гражданин на удержании'
    : phone.me.state === 'talking' || call.connected_at ? (outbound ? 'Исходящий звонок' : 'Разговор') : 'Входящий звонок';
  box.classList.toggle('ringing', !(phone.me.state === 'talking' || call.connected_at));
  $('call-caller').textContent = call.caller || 'номер скрыт';
  // The person comes with call.offered only (agent/me has the number).
  const person = call.person || phone.persons.get(call.call_id) || '';
  $('call-person').textContent = person;
  // A campaign is an outbound queue of the ACD: name it as a campaign.
  // A call back the operator asked for (appeal-callback) is about its appeal.
  $('call-queue').textContent = call.campaign ? 'кампания ' + call.campaign
    : call.queue === 'appeal-callback' ? 'перезвон по обращению' : (call.queue ? 'очередь ' + call.queue : '');
  $('call-consult').hidden = !consulting;
  $('call-transfer').hidden = !features.transfer || consulting;
  $('call-hangup').hidden = !features.hangup || !(phone.me.state === 'talking' || call.connected_at);
  // A call transferred with its appeal: the appeal is one click away.
  $('call-appeal').hidden = !call.appeal_id;
  if (call.appeal_id) $('call-appeal').href = '/appeals/' + encodeURIComponent(call.appeal_id);
}

async function loadMe() {
  if (!features.agent) {
    renderPhone();
    return;
  }
  try {
    phone.me = await api('GET', '/api/v1/agent/me');
    phone.available = true;
  } catch (e) {
    phone.available = false;
    phone.me = null;
    if (e.status !== 404 && e.status !== 501) toast(ruError(e), true);
  }
  renderPhone();
  live.dispatchEvent(new CustomEvent('phone', { detail: phone.me }));
}

async function loadPauseReasons() {
  if (!features.pause) return;
  try {
    const reasons = await api('GET', '/api/v1/agent/pause-reasons');
    fill($('phone-pause-reason'), (reasons || []).map((r) => h('option', { value: r }, r)));
  } catch { /* without the ACD there are none */ }
}

async function act(button, method, path, body) {
  unlockAudio();
  try {
    await busy(button, () => api(method, path, body));
    await loadMe();
  } catch (e) {
    toast(ruError(e), true);
  }
}

/** openCard opens the registration card for the current call. */
export function openCard() {
  const call = currentCall();
  if (call) sessionStorage.setItem(CALL_KEY, JSON.stringify({ ...call, person: call.person || phone.persons.get(call.call_id) || '', opened: Date.now() }));
  if (location.pathname === '/appeals/new') {
    live.dispatchEvent(new CustomEvent('card.call', { detail: call }));
  } else {
    location.assign('/appeals/new');
  }
}

// callAppeal is the appeal registered for call: the one saved in this
// tab during the call, else the one the call came with.
function callAppeal(call) {
  let saved = null;
  try { saved = JSON.parse(sessionStorage.getItem(CALL_APPEAL_KEY) || 'null'); } catch { saved = null; }
  if (saved && saved.call_id === call.call_id) return saved.appeal_id;
  return call.appeal_id || '';
}

// endConsult completes («Соединить») or cancels («Вернуться к звонку»)
// the attended transfer of the current call. Completing it hands the
// appeal registered for the call (also during the consultation) to the
// colleague, as a blind transfer does.
async function endConsult(button, complete) {
  unlockAudio();
  const call = currentCall();
  if (!call) return;
  const path = `/api/v1/calls/${encodeURIComponent(call.call_id)}/transfer/${complete ? 'complete' : 'cancel'}`;
  const body = {};
  const appealID = complete ? callAppeal(call) : '';
  if (appealID) body.appeal_id = appealID;
  try {
    const res = await busy(button, () => api('POST', path, body));
    if (res && res.appeal_error) toast(res.appeal_error, true);
    else toast(complete ? 'Звонок переведён' : 'Вы снова говорите с гражданином');
  } catch (e) {
    toast(ruError(e), true);
  }
  await loadMe();
}

function initTransferDialog() {
  const dlg = $('transfer-dialog');
  const search = $('transfer-search');
  const results = $('transfer-results');
  const target = $('transfer-target');
  const err = $('transfer-error');
  const find = debounce(async () => {
    const q = search.value.trim();
    if (!q) { results.replaceChildren(); return; }
    try {
      const list = await api('GET', '/api/v1/directory?q=' + encodeURIComponent(q));
      fill(results, list.filter((x) => x.extension).map((x) => h('li', {},
        h('span', {}, `${x.display_name || x.login} — ${x.organization || ''} вн. ${x.extension}`),
        h('button', { type: 'button', class: 'btn-small btn-secondary', onclick: () => { target.value = x.extension; target.focus(); } }, 'Выбрать'))));
    } catch (e) { err.textContent = ruError(e); }
  }, 250);
  search.addEventListener('input', find);
  $('transfer-form').addEventListener('submit', async (ev) => {
    if (ev.submitter && ev.submitter.value === 'cancel') return;
    ev.preventDefault();
    const call = currentCall();
    if (!call) { err.textContent = 'Нет текущего звонка.'; return; }
    const mode = (document.querySelector('input[name="transfer-mode"]:checked') || {}).value || 'blind';
    try {
      const body = { target: target.value.trim(), mode };
      const appealID = callAppeal(call);
      if (appealID) body.appeal_id = appealID;
      const res = await api('POST', `/api/v1/calls/${encodeURIComponent(call.call_id)}/transfer`, body);
      dlg.close();
      if (res && res.appeal_error) toast(res.appeal_error, true);
      if (mode === 'attended') {
        toast('Консультация с ' + body.target + ': «Соединить» переведёт звонок, «Вернуться к звонку» — отменит перевод');
      } else {
        toast('Звонок переведён на ' + body.target);
      }
      await loadMe();
    } catch (e) { err.textContent = ruError(e); }
  });
}

/** openTransfer opens the transfer dialog, optionally with a target. */
export function openTransfer(targetValue) {
  const dlg = document.getElementById('transfer-dialog');
  if (!dlg) return;
  $('transfer-error').textContent = '';
  $('transfer-target').value = targetValue || '';
  dlg.showModal();
  (targetValue ? $('transfer-go') : $('transfer-search')).focus();
}

function initPhone() {
  if (!document.getElementById('phone')) return;
  document.addEventListener('pointerdown', unlockAudio);
  document.addEventListener('keydown', unlockAudio);
  $('phone-start').addEventListener('click', (e) => act(e.currentTarget, 'POST', '/api/v1/agent/session', { action: 'start' }));
  $('phone-finish').addEventListener('click', (e) => act(e.currentTarget, 'POST', '/api/v1/agent/session', { action: 'finish' }));
  $('phone-pause').addEventListener('click', (e) => act(e.currentTarget, 'POST', '/api/v1/agent/state', { state: 'paused', reason: $('phone-pause-reason').value }));
  $('phone-ready').addEventListener('click', (e) => act(e.currentTarget, 'POST', '/api/v1/agent/state', { state: 'ready' }));
  $('phone-wrapup-extend').addEventListener('click', (e) => act(e.currentTarget, 'POST', '/api/v1/agent/wrapup', { extend_seconds: 30 }));
  $('phone-wrapup-done').addEventListener('click', (e) => act(e.currentTarget, 'POST', '/api/v1/agent/wrapup', { done: true }));
  $('call-add').addEventListener('click', openCard);
  $('call-transfer').addEventListener('click', () => openTransfer(''));
  $('call-transfer').hidden = !features.transfer;
  $('call-hangup').addEventListener('click', (e) => act(e.currentTarget, 'POST', '/api/v1/agent/hangup', {}));
  $('call-complete').addEventListener('click', (e) => endConsult(e.currentTarget, true));
  $('call-cancel').addEventListener('click', (e) => endConsult(e.currentTarget, false));
  initTransferDialog();
  onLive('agent.state', (d) => {
    if (!d || d.login !== viewer.login || !phone.me) return;
    phone.me.state = d.state;
    phone.me.state_since = d.since;
    phone.me.pause_reason = d.reason || '';
    renderPhone();
    loadMe();
  });
  onLive('call.offered', (d) => {
    if (!d || (d.login && d.login !== viewer.login)) return;
    if (d.person) phone.persons.set(d.call_id, d.person);
    if (phone.me) {
      phone.me.call = { call_id: d.call_id, caller: d.caller, queue: d.queue, person: d.person, direction: d.direction || 'inbound', campaign: d.campaign };
      renderPhone();
    }
    ring();
    loadMe();
  });
  onLive('call.connected', (d) => {
    // A campaign's call (progressive, predictive): the survey card opens
    // by itself (manual 5.3; the operator does not search for the person).
    if (d && d.campaign && d.contact_id && features.surveys && can('update:survey') && location.pathname !== '/surveys/card') {
      openSurveyCard(d.campaign, d.contact_id);
      return;
    }
    loadMe();
  });
  onLive('call.ended', () => loadMe());
  onReconnect(loadMe);
  loadMe();
  loadPauseReasons();
}

initLogout();
initPhone();
connect();
