// The page of examples/thirdparty. The login happens at the provider, by
// top-level navigation; its callback sets our refresh cookie (HttpOnly,
// scoped to /auth: this script cannot read it) and redirects here. The
// page then spends the cookie at POST /auth/refresh for an access token,
// which lives only in the variable accessToken.
'use strict';

(() => {
  let accessToken = null; // the page's memory, and nowhere else

  const $ = (id) => document.getElementById(id);

  function showError(text) {
    $('error').textContent = text;
    $('error').hidden = !text;
  }

  // post sends a same-origin POST; the browser adds the refresh cookie
  // to /auth requests only.
  function post(path) {
    return fetch(path, { method: 'POST', credentials: 'same-origin' });
  }

  // refresh spends the refresh cookie for a new access token; it
  // resolves to whether one was obtained.
  async function refresh() {
    const resp = await post('/auth/refresh');
    if (!resp.ok) {
      accessToken = null;
      return false;
    }
    accessToken = (await resp.json()).access_token;
    return true;
  }

  // me calls GET /api/me with the token from memory, refreshing once on
  // a 401 (the access token expired).
  async function me() {
    const send = () => fetch('/api/me', { headers: { Authorization: 'Bearer ' + accessToken } });
    let resp = await send();
    if (resp.status === 401 && await refresh()) resp = await send();
    if (!resp.ok) throw new Error('GET /api/me: HTTP ' + resp.status);
    return resp.json();
  }

  function showLogin() {
    accessToken = null;
    $('app').hidden = true;
    $('login').hidden = false;
    $('status').textContent = 'Logged out.';
  }

  async function showApp() {
    const who = await me();
    $('user').textContent = who.username; // text, never HTML
    $('scopes').textContent = who.scopes.join(' ');
    $('login').hidden = true;
    $('app').hidden = false;
    $('status').textContent = 'Logged in.';
  }

  $('logout').addEventListener('click', async () => {
    showError('');
    const resp = await post('/auth/logout');
    if (!resp.ok) {
      showError('Logout failed: HTTP ' + resp.status);
      return;
    }
    showLogin();
  });

  // On load, the cookie (if any: just set by the callback, or from an
  // earlier visit) restores the session.
  (async () => {
    try {
      if (await refresh()) {
        await showApp();
      } else {
        showLogin();
      }
    } catch (err) {
      showLogin();
      showError(err.message);
    }
  })();
})();
