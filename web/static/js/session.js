// Who is signed in, and the navigation that depends on it.
//
// The token lives only in the HttpOnly cookie. localStorage keeps a hint that a session exists
// (no secret: just "1"), so anonymous visitors are not sent through a 401 from /api/auth/me on
// every page; when the hint is stale, one 401 clears it.

import { api, ApiError } from "./api.js";

const HINT = "vidpipe.session";

export function rememberSession() {
  localStorage.setItem(HINT, "1");
}

function forgetSession() {
  localStorage.removeItem(HINT);
}

async function loadUser() {
  if (!localStorage.getItem(HINT)) return null;
  try {
    return await api("/api/auth/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forgetSession();
      return null;
    }
    throw error;
  }
}

export async function logIn(email, password) {
  const body = await api("/api/auth/session", { method: "POST", json: { email, password } });
  rememberSession();
  return body.user;
}

export async function logOut() {
  try {
    await api("/api/auth/session", { method: "DELETE" });
  } finally {
    forgetSession();
  }
}

/** A same-site path to go back to after logging in (never another origin). */
export function safeNext(value, fallback = "/my-videos") {
  return value && value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/\\") ? value : fallback;
}

export function loginUrl() {
  return `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}

function showNav(user) {
  for (const item of document.querySelectorAll("[data-auth]")) {
    const want = item.dataset.auth;
    item.hidden = want === "out" ? Boolean(user) : want === "operator" ? !user?.is_operator : !user;
  }
  const who = document.getElementById("whoami");
  if (who && user) who.textContent = `${user.first_name} ${user.last_name}`;
  const button = document.getElementById("logout");
  if (button && !button.dataset.bound) {
    button.dataset.bound = "1";
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await logOut();
      } finally {
        location.assign("/");
      }
    });
  }
}

let current;

/** The signed-in user (or null), loaded once per page; the navigation is updated from it. */
export function currentUser() {
  current ??= loadUser().then(
    (user) => {
      showNav(user);
      return user;
    },
    (error) => {
      showNav(null);
      throw error;
    },
  );
  return current;
}

/** For pages that need an account: the user, or a redirect to the login page. */
export async function requireUser() {
  const user = await currentUser();
  if (!user) {
    location.replace(loginUrl());
    return new Promise(() => {}); // the page is going away
  }
  return user;
}
