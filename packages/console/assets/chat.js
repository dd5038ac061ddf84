// Chat with an agent: the reply streams from /console/api/chat, which is /v1/chat/completions as your key.

(() => {
  const form = document.getElementById("chat-form");
  const log = document.getElementById("chat-log");
  const input = document.getElementById("chat-input");
  const agent = document.getElementById("chat-agent");
  const send = document.getElementById("chat-send");
  let messages = [];
  let conversation = "";
  const fresh = () => {
    messages = [];
    // Not crypto.randomUUID: it exists only in secure contexts, and the console may be served over plain http.
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    conversation = `console-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
    log.replaceChildren();
  };
  fresh();
  agent.addEventListener("change", fresh);
  document.getElementById("chat-new").addEventListener("click", () => {
    fresh();
    input.focus();
  });

  const bubble = (role, text) => {
    const li = document.createElement("li");
    li.className = `msg msg-${role}`;
    const r = document.createElement("span");
    r.className = "role";
    r.textContent = role;
    const c = document.createElement("div");
    c.className = "content";
    c.textContent = text;
    li.append(r, c);
    log.append(li);
    li.scrollIntoView({ block: "end" });
    return c;
  };

  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    messages.push({ role: "user", content: text });
    bubble("user", text);
    const out = bubble("assistant", "");
    out.parentElement.setAttribute("aria-busy", "true");
    send.disabled = true;
    let reply = "";
    try {
      const res = await window.switchboardConsole.post("/console/api/chat", {
        agent: agent.value,
        messages,
        conversation,
      });
      if (!res.ok || !res.body) {
        const body = await res.json().catch(() => ({}));
        throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          for (const line of frame.split("\n")) {
            if (!line.startsWith("data: ")) continue;
            const data = line.slice(6);
            if (data === "[DONE]") continue;
            const chunk = JSON.parse(data);
            if (chunk.error) throw new Error(chunk.error.message);
            const delta = chunk.choices?.[0]?.delta?.content;
            if (delta) {
              reply += delta;
              out.textContent = reply;
            }
          }
        }
      }
      messages.push({ role: "assistant", content: reply });
    } catch (err) {
      out.textContent = `${reply}\n⚠ ${err.message}`;
      out.parentElement.classList.add("error");
      messages.pop();
    } finally {
      out.parentElement.removeAttribute("aria-busy");
      out.parentElement.dataset.done = "true";
      send.disabled = false;
      input.focus();
    }
  });
})();
