// The admin page: list users, add one, change a role, reset a password,
// delete. rigweb refuses to remove or demote the last admin (409).
import { api, session, header, ROLES, ApiError } from './api.js';
import { cell, fill } from './tables.js';

const $ = (sel, root = document) => root.querySelector(sel);
const msg = $('#users .msg');
const done = $('#users-done');

function say(text, err) {
  msg.textContent = err ? text : '';
  done.textContent = err ? '' : text;
}

async function load() {
  const r = await api('GET', '/api/users');
  fill($('#users-table'), r.users, (tr, u) => {
    tr.dataset.user = u.name;
    cell(tr, u.name);
    cell(tr, u.role);
    const role = document.createElement('select');
    role.setAttribute('aria-label', `role of ${u.name}`);
    for (const x of ROLES) role.append(new Option(x, x, false, x === u.role));
    const save = button('Change role', async () => {
      await api('PUT', `/api/users/${encodeURIComponent(u.name)}`, { role: role.value });
      say(`${u.name} is now ${role.value}.`);
    });
    const f1 = document.createElement('span');
    f1.append(role, ' ', save);
    cell(tr, f1);
    const pw = document.createElement('input');
    Object.assign(pw, { type: 'password', minLength: 8, autocomplete: 'new-password', size: 12 });
    pw.setAttribute('aria-label', `new password for ${u.name}`);
    const reset = button('Reset password', async () => {
      if (pw.value.length < 8) throw new Error('a password has at least 8 characters');
      await api('PUT', `/api/users/${encodeURIComponent(u.name)}`, { password: pw.value });
      pw.value = '';
      say(`Password of ${u.name} reset.`);
    });
    const f2 = document.createElement('span');
    f2.append(pw, ' ', reset);
    cell(tr, f2);
    cell(tr, button('Delete', async () => {
      if (!window.confirm(`Delete user ${u.name}?`)) return;
      await api('DELETE', `/api/users/${encodeURIComponent(u.name)}`);
      say(`${u.name} deleted.`);
    }, 'danger'));
  }, 'no users');
}

function button(text, action, cls) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (cls) b.className = cls;
  b.addEventListener('click', async () => {
    try { await action(); await load(); } catch (e) { say(e.message, true); }
  });
  return b;
}

try {
  const me = await session('admin');
  header(me, '/admin');
  await load();
  const form = $('#add-form');
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const m = $('#add .msg');
    m.textContent = '';
    try {
      await api('POST', '/api/users', { user: form.user.value.trim(), role: form.role.value, password: form.password.value });
      say(`${form.user.value.trim()} added as ${form.role.value}.`);
      form.reset();
      await load();
    } catch (x) {
      m.textContent = x.message;
    }
  });
} catch (e) {
  if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) throw e;
}
