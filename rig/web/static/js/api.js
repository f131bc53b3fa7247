// The browser's side of rigweb's HTTP API (docs/WEB.md): JSON requests
// carrying the CSRF token, the session check, and the live event stream.
// Every state-changing request sends X-CSRF-Token; a 401 sends the user to
// the login page (and back here afterwards).

let csrf = null;
let me = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function toLogin() {
  const next = location.pathname + location.search;
  location.replace('/login?next=' + encodeURIComponent(next));
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['Content-Type'] = 'application/json';
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text }; }
  }
  if (res.status === 401 && path !== '/api/login') {
    toLogin();
    throw new ApiError(401, data);
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// Who is logged in: {user, role, csrf}. Redirects to the login page when
// nobody is, and to the operator page when the role is below `need`.
export const ROLES = ['operator', 'engineer', 'admin'];
export function roleAtLeast(role, need) {
  return ROLES.indexOf(role) >= ROLES.indexOf(need);
}

export async function session(need = 'operator') {
  me = await api('GET', '/api/me');
  csrf = me.csrf || csrf;
  if (!roleAtLeast(me.role, need)) {
    location.replace('/');
    throw new ApiError(403, { message: 'forbidden' });
  }
  return me;
}

export function setCsrf(token) { csrf = token; }

export async function logout() {
  try { await api('POST', '/api/logout', {}); } finally { location.replace('/login'); }
}

// The page header: who is logged in, the pages the role may open, log out.
export function header(user, current) {
  const nav = document.getElementById('nav');
  if (!nav) return;
  const links = [['/', 'Operator', 'operator'], ['/engineer', 'Engineer', 'engineer'],
    ['/admin', 'Admin', 'admin']];
  nav.replaceChildren();
  for (const [href, label, need] of links) {
    if (!roleAtLeast(user.role, need)) continue;
    const a = document.createElement('a');
    a.href = href;
    a.textContent = label;
    if (href === current) a.setAttribute('aria-current', 'page');
    nav.append(a);
  }
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = `${user.user} (${user.role})`;
  const out = document.createElement('button');
  out.type = 'button';
  out.className = 'link';
  out.textContent = 'Log out';
  out.addEventListener('click', logout);
  nav.append(who, out);
}

// The live stream. EventSource reconnects by itself; rigweb sends a
// `station` snapshot on every (re)connect, so the page redraws from it.
// handlers: {station, run, measurement, samples, devices, rigd, open, lost}
export function events(handlers, path = '/api/events') {
  const names = ['station', 'run', 'measurement', 'samples', 'devices', 'rigd'];
  let es = null;
  let retry = null;
  const connect = () => {
    retry = null;
    es = new EventSource(path);
    for (const name of names) {
      if (!handlers[name]) continue;
      es.addEventListener(name, (e) => {
        let data;
        try { data = JSON.parse(e.data); } catch { return; }
        handlers[name](data);
      });
    }
    es.addEventListener('open', () => handlers.open && handlers.open());
    es.addEventListener('error', () => {
      if (handlers.lost) handlers.lost();
      // CLOSED: the server answered with an error (e.g. the session
      // ended): check the session (a 401 goes to the login page), then
      // connect again; otherwise EventSource retries by itself.
      if (es.readyState === EventSource.CLOSED && !retry) {
        es.close();
        retry = setTimeout(() => {
          api('GET', '/api/me').catch(() => {}).finally(connect);
        }, 1000);
      }
    });
  };
  connect();
  return { close: () => { clearTimeout(retry); es.close(); } };
}
