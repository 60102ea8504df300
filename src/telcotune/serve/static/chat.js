// The chat page: talks to this server's OpenAI-compatible API, streams replies (fetch +
// ReadableStream, parsing server-sent events), keeps the conversation in memory, and labels
// each reply with the model (adapter) that wrote it. Text is only ever set with textContent.
"use strict";

const KEY_STORE = "telcotune.apiKey"; // sessionStorage: forgotten when the tab closes
const $ = (id) => document.getElementById(id);
const state = { history: [], busy: false, controller: null };

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORE);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function setBusy(busy) {
  state.busy = busy;
  $("send").disabled = busy || !$("model").value;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    return body.error?.message || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

async function loadModels() {
  const health = await (await fetch("health")).json();
  $("key-label").hidden = !health.auth_required;
  if (health.auth_required && !sessionStorage.getItem(KEY_STORE)) {
    setStatus("This server needs an API key: enter it above.");
    return;
  }
  const response = await fetch("v1/models", { headers: authHeaders() });
  if (!response.ok) {
    setStatus(await errorMessage(response), true);
    return;
  }
  const { data } = await response.json();
  $("model").replaceChildren(...data.map((m) => new Option(m.id, m.id)));
  setStatus(`${data.length} model(s); ${data[0]?.id ?? "none"} answers unless you pick another.`);
  setBusy(false);
}

function addMessage(role, text, model) {
  const el = document.createElement("div");
  el.className = `message ${role}`;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = role === "user" ? "you" : `answered by ${model}`;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  el.append(meta, body);
  if (model) el.dataset.model = model;
  $("messages").append(el);
  el.scrollIntoView({ block: "end" });
  return { el, meta, text: body };
}

function parseEvent(event) {
  // One SSE event: its `data:` lines joined; comments and other fields ignored.
  return event.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
}

async function streamReply(model, bubble, signal) {
  const response = await fetch("v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders() },
    body: JSON.stringify({ model, messages: state.history, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "", reply = "", chunks = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the reply was cut off");
    buffer += decoder.decode(value, { stream: true }).replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const data = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (!data) continue;
      if (data === "[DONE]") return reply;
      const payload = JSON.parse(data);
      if (payload.error) throw new Error(payload.error.message);
      const piece = payload.choices?.[0]?.delta?.content;
      if (piece) {
        reply += piece;
        bubble.text.textContent = reply;
        bubble.el.dataset.chunks = String(++chunks);
        bubble.el.scrollIntoView({ block: "end" });
      }
      if (payload.usage) {
        bubble.meta.textContent = `answered by ${payload.model} · ${payload.usage.completion_tokens} tokens`;
      }
    }
  }
}

async function send(event) {
  event.preventDefault();
  const text = $("input").value.trim();
  const model = $("model").value;
  if (!text || !model || state.busy) return;
  $("input").value = "";
  state.history.push({ role: "user", content: text });
  addMessage("user", text);
  const bubble = addMessage("assistant", "", model);
  const controller = (state.controller = new AbortController());
  setBusy(true);
  try {
    const reply = await streamReply(model, bubble, controller.signal);
    state.history.push({ role: "assistant", content: reply });
    bubble.el.dataset.done = "true";
    if (!reply) bubble.text.textContent = "(empty reply)";
  } catch (err) {
    if (controller.signal.aborted) return; // reset while streaming: the page is already cleared
    state.history.pop(); // an unanswered message is not part of the conversation
    bubble.el.classList.add("error");
    bubble.el.dataset.done = "error";
    bubble.text.textContent = err.message;
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      setBusy(false);
    }
  }
}

function reset() {
  state.controller?.abort();
  state.controller = null;
  state.history = [];
  $("messages").replaceChildren();
  setBusy(false);
  $("input").focus();
}

function init() {
  $("composer").addEventListener("submit", send);
  $("reset").addEventListener("click", reset);
  $("input").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("api-key").value = sessionStorage.getItem(KEY_STORE) ?? "";
  $("api-key").addEventListener("change", () => {
    sessionStorage.setItem(KEY_STORE, $("api-key").value.trim());
    loadModels().catch((err) => setStatus(err.message, true));
  });
  $("model").addEventListener("change", () => setBusy(state.busy));
  loadModels().catch((err) => setStatus(err.message, true));
}

init();
