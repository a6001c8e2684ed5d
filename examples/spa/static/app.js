// The page of examples/spa. The access token lives only in the variable
// accessToken: never in web storage or a cookie the script can read. The
// refresh token is in an HttpOnly cookie scoped to /auth that this
// script cannot read; POST /auth/refresh spends it and sets the next one.
'use strict';

(() => {
  let accessToken = null; // the page's memory, and nowhere else
  let refreshing = null;  // the refresh under way, shared by all callers
  let silentRefreshes = 0;

  const $ = (id) => document.getElementById(id);

  function log(line) {
    const li = document.createElement('li');
    li.textContent = new Date().toLocaleTimeString() + ' ' + line;
    $('log').prepend(li);
  }

  function showError(text) {
    $('error').textContent = text;
    $('error').hidden = !text;
  }

  // errorText reads an OAuth-style error answer.
  async function errorText(resp) {
    try {
      const body = await resp.json();
      return body.error_description || body.error || ('HTTP ' + resp.status);
    } catch {
      return 'HTTP ' + resp.status;
    }
  }

  // post sends a same-origin POST; the browser adds the refresh cookie
  // to /auth requests only.
  function post(path, body) {
    return fetch(path, { method: 'POST', credentials: 'same-origin', body });
  }

  // refresh spends the refresh cookie for a new access token. One at a
  // time: a second refresh with the same cookie would be a reuse, which
  // revokes the session. Within this tab the callers share one refresh;
  // across tabs (which share the cookie) a Web Lock makes them take
  // turns, each with the cookie the one before it set. It resolves to
  // whether a token was obtained.
  function refresh() {
    if (!refreshing) {
      refreshing = (async () => {
        const resp = navigator.locks
          ? await navigator.locks.request('tollgate-refresh', () => post('/auth/refresh'))
          : await post('/auth/refresh');
        if (!resp.ok) {
          accessToken = null;
          return false;
        }
        accessToken = (await resp.json()).access_token;
        return true;
      })().finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  // api calls the API with the token from memory. On a 401 it refreshes
  // silently, once, and retries; if that fails the session is over.
  async function api(method, path, json) {
    const send = () => {
      const headers = {};
      if (accessToken) headers.Authorization = 'Bearer ' + accessToken;
      const init = { method, credentials: 'same-origin', headers };
      if (json !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(json);
      }
      return fetch(path, init);
    };
    let resp = await send();
    if (resp.status === 401) {
      if (!(await refresh())) {
        log('refresh refused: logged out');
        showLogin('Your session has ended; please log in again.');
        throw new Error('session ended');
      }
      silentRefreshes++;
      $('refreshes').textContent = String(silentRefreshes);
      log('silent refresh #' + silentRefreshes + ' after a 401 from ' + method + ' ' + path);
      resp = await send();
    }
    if (!resp.ok) {
      throw new Error(await errorText(resp));
    }
    return resp.status === 204 ? null : resp.json();
  }

  function showLogin(message) {
    accessToken = null;
    $('app').hidden = true;
    $('login-form').hidden = false;
    $('status').textContent = 'Logged out.';
    showError(message || '');
  }

  async function showApp() {
    const me = await api('GET', '/api/me');
    $('user').textContent = me.username;
    $('scopes').textContent = me.scopes.join(' ');
    $('login-form').hidden = true;
    $('app').hidden = false;
    $('status').textContent = 'Logged in.';
    await loadItems();
  }

  async function loadItems() {
    const items = await api('GET', '/api/items');
    const list = $('items');
    list.replaceChildren(...items.map((it) => {
      const li = document.createElement('li');
      li.dataset.id = String(it.id);
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = it.name; // text, never HTML
      const owner = document.createElement('span');
      owner.className = 'owner';
      owner.textContent = '(' + it.owner + ')';
      li.append(name, owner);
      return li;
    }));
    $('items').dataset.loaded = String(Date.now());
  }

  // guard runs an action of the page and shows its failure.
  function guard(action) {
    return async (event) => {
      if (event) event.preventDefault();
      showError('');
      try {
        await action();
      } catch (err) {
        if (err.message !== 'session ended') showError(err.message);
      }
    };
  }

  $('login-form').addEventListener('submit', guard(async () => {
    const form = new URLSearchParams(new FormData($('login-form')));
    const resp = await post('/auth/login', form);
    $('password').value = '';
    if (!resp.ok) {
      const text = resp.status === 400 ? 'Wrong username or password.' : await errorText(resp);
      throw new Error(text);
    }
    accessToken = (await resp.json()).access_token;
    log('logged in');
    await showApp();
  }));

  $('item-form').addEventListener('submit', guard(async () => {
    const name = $('item-name').value;
    await api('POST', '/api/items', { name });
    $('item-name').value = '';
    log('item added');
    await loadItems();
  }));

  $('reload').addEventListener('click', guard(loadItems));

  $('logout').addEventListener('click', guard(async () => {
    const resp = await post('/auth/logout');
    if (!resp.ok) throw new Error(await errorText(resp));
    log('logged out');
    showLogin();
  }));

  // On load, the cookie (if any) restores the session.
  guard(async () => {
    if (await refresh()) {
      log('session restored from the refresh cookie');
      await showApp();
    } else {
      showLogin();
    }
  })();
})();
