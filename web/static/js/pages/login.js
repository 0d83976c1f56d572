import { currentUser, logIn, safeNext } from "../session.js";
import { $, say } from "../ui.js";

const params = new URLSearchParams(location.search);
const next = safeNext(params.get("next"));
const form = $("#login-form");
const message = $("#message");
$("#signup-link").href = `/signup?next=${encodeURIComponent(next)}`;

// Already signed in: nothing to do here. (If /api/auth/me fails, the form still works.)
currentUser().then(
  (user) => user && location.replace(next),
  () => {},
);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = form.email.value.trim();
  const password = form.password.value;
  if (!email || !password) {
    say(message, "Enter your email and password.", "error");
    (email ? form.password : form.email).focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say(message, null);
  try {
    await logIn(email, password);
    location.assign(next);
  } catch (error) {
    say(message, error.detail ?? String(error), "error");
    form.password.focus();
    button.disabled = false;
  }
});

// Ready: the button starts disabled in the page, so a click before this module ran cannot submit
// the form natively (its fields would go to the server as a plain form post).
form.querySelector("button[type=submit]").disabled = false;
