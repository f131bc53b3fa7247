// The login page: POST /api/login, then back to the page that sent us
// here (only a path on this server), else the page for the role.
import { api } from './api.js';

const form = document.getElementById('login');
const err = document.getElementById('login-error');

function target(role) {
  const next = new URLSearchParams(location.search).get('next');
  if (next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login')) return next;
  return role === 'admin' ? '/admin' : role === 'engineer' ? '/engineer' : '/';
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  err.textContent = '';
  const user = form.user.value.trim();
  const password = form.password.value;
  try {
    const me = await api('POST', '/api/login', { user, password });
    location.replace(target(me.role));
  } catch (x) {
    err.textContent = x.status === 401 || x.status === 403 ? 'Wrong user or password.' : `Cannot log in: ${x.message}`;
    form.password.value = '';
    form.password.focus();
  }
});
