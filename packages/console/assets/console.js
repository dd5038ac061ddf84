// The console's light client layer: pages work without it; it adds confirmations and the CSRF header.

(() => {
  const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
  window.switchboardConsole = {
    csrf: token,
    /** fetch with the session's CSRF token (the cookie goes along: same origin). */
    post(url, body) {
      return fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": token },
        body: JSON.stringify(body),
      });
    },
  };
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }
})();
