// The login page: the token (or the name and password) goes to the server once, in the body
// of a same-origin POST; the server answers with an HttpOnly session cookie, and the page
// moves on to the review screen.
"use strict";

document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const status = document.getElementById("login-status");
  const token = document.getElementById("token");
  const name = document.getElementById("name");
  const password = document.getElementById("password");
  const body = token.value.trim()
    ? { token: token.value.trim() }
    : { name: name.value.trim(), password: password.value };
  status.textContent = "Logging in…";
  try {
    const response = await fetch("/api/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (response.ok) {
      window.location.assign("/");
      return;
    }
    // Not `body`: that name in this block would shadow the request's body above it.
    const answer = await response.json().catch(() => ({}));
    status.textContent = `Not logged in: ${answer.error || response.statusText}`;
  } catch (err) {
    status.textContent = `Not logged in: ${err.message}`;
  } finally {
    token.value = "";
    password.value = "";
  }
});
