import { api } from "../api.js";
import { currentUser, logIn, safeNext } from "../session.js";
import { $, say } from "../ui.js";

const next = safeNext(new URLSearchParams(location.search).get("next"), "/upload");
const form = $("#signup-form");
const message = $("#message");
const FIELDS = ["first_name", "last_name", "email", "password1", "password2", "city", "country"];
const LABELS = {
  first_name: "First name",
  last_name: "Last name",
  email: "Email",
  password1: "Password",
  password2: "Confirm password",
  city: "City",
  country: "Country",
};

// Already signed in: nothing to do here. (If /api/auth/me fails, the form still works.)
currentUser().then(
  (user) => user && location.replace(next),
  () => {},
);

// The same rules as the API, checked first so the player gets the answer at once.
function problem(body) {
  for (const name of FIELDS) {
    if (!body[name]) return [name, `${LABELS[name]} is required.`];
  }
  if (body.password1.length < 8) return ["password1", "The password must have at least 8 characters."];
  if (body.password1 !== body.password2) return ["password2", "The passwords do not match."];
  return null;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = {};
  for (const name of FIELDS) {
    const value = form.elements[name].value;
    body[name] = name.startsWith("password") ? value : value.trim();
  }
  for (const name of FIELDS) form.elements[name].removeAttribute("aria-invalid");
  const found = problem(body);
  if (found) {
    const [name, text] = found;
    say(message, text, "error");
    form.elements[name].setAttribute("aria-invalid", "true");
    form.elements[name].focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say(message, null);
  try {
    await api("/api/auth/signup", { method: "POST", json: body });
    await logIn(body.email, body.password1);
    location.assign(next);
  } catch (error) {
    say(message, error.detail ?? String(error), "error");
    message.focus?.();
    button.disabled = false;
  }
});

// Ready: the button starts disabled in the page, so a click before this module ran cannot submit
// the form natively (its fields would go to the server as a plain form post).
form.querySelector("button[type=submit]").disabled = false;
