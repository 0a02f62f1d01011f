// The login page: the token goes to the server once, in the body of a same-origin POST; the
// server answers with an HttpOnly session cookie, and the page moves on to the review screen.
"use strict";

document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const status = document.getElementById("login-status");
  const token = document.getElementById("token");
  status.textContent = "Logging in…";
  try {
    const response = await fetch("/api/login", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: token.value }),
    });
    if (response.ok) {
      window.location.assign("/");
      return;
    }
    const body = await response.json().catch(() => ({}));
    status.textContent = `Not logged in: ${body.error || response.statusText}`;
  } catch (err) {
    status.textContent = `Not logged in: ${err.message}`;
  } finally {
    token.value = "";
  }
});
