// The rating page: a rater enters a name, then rates one item at a time (two answers A/B, or one
// answer on 1-10 scales), by click or keyboard; undo takes back the last rating. The server
// keeps everything (progress survives a reload); the page keeps only the rater's name
// (localStorage) and the access key (sessionStorage). Text is only ever set with textContent.
"use strict";

const NAME_STORE = "telcotune.rater";
const KEY_STORE = "telcotune.rateKey";
const $ = (id) => document.getElementById(id);
const state = { view: null, busy: false, scores: {}, active: 0 };

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function show(section) {
  for (const id of ["join", "task", "finished"]) $(id).hidden = id !== section;
}

function headers() {
  const key = sessionStorage.getItem(KEY_STORE);
  return { "Content-Type": "application/json", ...(key ? { Authorization: `Bearer ${key}` } : {}) };
}

class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, body) {
  const response = await fetch(`api/${path}`, { method: "POST", headers: headers(), body: JSON.stringify(body) });
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    /* not JSON: handled below */
  }
  if (!response.ok) {
    const error = payload?.error;
    throw new ApiError(error?.message || `${response.status} ${response.statusText}`, response.status, error?.code);
  }
  return payload;
}

async function call(path, body) {
  // One request at a time: a double click or a held key must not rate twice.
  if (state.busy) return;
  state.busy = true;
  document.body.dataset.busy = "true";
  try {
    render(await api(path, body));
  } catch (error) {
    if (error.status === 401) {
      sessionStorage.removeItem(KEY_STORE);
      $("key-label").hidden = false;
      show("join");
    }
    setStatus(error.message, true);
    if (error.code === "not_shown" || error.code === "already_rated") await refresh();
    if (error.code === "unknown_rater") forget();
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
  }
}

async function refresh() {
  const name = localStorage.getItem(NAME_STORE);
  if (name) render(await api("join", { name }));
}

function forget() {
  localStorage.removeItem(NAME_STORE);
  state.view = null;
  $("who").textContent = "";
  $("progress").textContent = "";
  show("join");
  $("name").focus();
}

function turn(message) {
  const el = document.createElement("div");
  el.className = `turn ${message.role}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = message.role === "customer" ? "Customer" : "Assistant";
  el.append(who, document.createTextNode(message.text));
  return el;
}

function answerCard(label, text) {
  const card = document.createElement("article");
  card.className = "answer";
  card.id = `answer-${label || "only"}`;
  const title = document.createElement("h2");
  title.textContent = label ? `Answer ${label}` : "The assistant's answer";
  const body = document.createElement("div");
  body.className = "text";
  body.textContent = text;
  card.append(title, body);
  return card;
}

function scaleRow(criterion, index) {
  const row = document.createElement("div");
  row.className = "criterion";
  row.dataset.criterion = criterion.name;
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = criterion.name[0].toUpperCase() + criterion.name.slice(1);
  const help = document.createElement("span");
  help.className = "help";
  help.textContent = ` ${criterion.help}`;
  const scale = document.createElement("div");
  scale.className = "scale";
  for (let score = 1; score <= 10; score++) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "score";
    button.textContent = String(score);
    button.dataset.score = String(score);
    button.addEventListener("click", (event) => {
      event.stopPropagation(); // the row's own click would mark this line again
      setScore(index, score);
    });
    scale.append(button);
  }
  row.append(name, help, scale);
  row.addEventListener("click", () => setActive(index));
  return row;
}

function setActive(index) {
  state.active = Math.max(0, Math.min(index, state.view.criteria.length - 1));
  document.querySelectorAll(".criterion").forEach((row, i) => row.classList.toggle("active", i === state.active));
}

function setScore(index, score) {
  const name = state.view.criteria[index].name;
  state.scores[name] = score;
  const row = document.querySelectorAll(".criterion")[index];
  row.querySelectorAll(".score").forEach((b) => b.classList.toggle("chosen", Number(b.dataset.score) === score));
  setActive(index + 1);
}

function render(view) {
  state.view = view;
  localStorage.setItem(NAME_STORE, view.rater);
  $("who").textContent = `Rating as ${view.rater}`;
  const { done, total } = view.progress;
  $("progress").textContent = `${done} of ${total}`;
  if (view.finished) {
    show("finished");
    $("finished-text").textContent = total
      ? `You rated ${done} of ${total}. Your ratings are saved; you can close this page.`
      : "There is nothing to rate.";
    setStatus("");
    return;
  }
  show("task");
  const item = view.item;
  $("task").dataset.item = item.key;
  $("conversation").replaceChildren(...item.conversation.map(turn));
  const pairwise = view.protocol === "pairwise";
  $("ask").textContent = pairwise
    ? "Which answer is better for this customer?"
    : "Score this answer (1 = very poor, 10 = excellent).";
  $("answers").replaceChildren(...(pairwise ? [answerCard("A", item.answers[0]), answerCard("B", item.answers[1])]
    : [answerCard("", item.answers[0])]));
  $("pairwise-controls").hidden = !pairwise;
  $("pointwise-controls").hidden = pairwise;
  $("keys-help").textContent = pairwise ? "A, B, T (tie), X (both bad)" : "1-9 and 0 (=10) score the marked line, Enter submits";
  document.querySelectorAll(".vote").forEach((b) => b.classList.remove("chosen"));
  state.scores = {};
  if (!pairwise) {
    $("criteria").replaceChildren(...view.criteria.map(scaleRow));
    setActive(0);
  }
  $("comment").value = "";
  const undone = view.undone;
  if (undone) {
    $("comment").value = undone.comment || "";
    if (pairwise && undone.verdict) $(`vote-${undone.verdict}`).classList.add("chosen");
    if (!pairwise) view.criteria.forEach((c, i) => undone.scores[c.name] && setScore(i, undone.scores[c.name]));
    setStatus("Undone: your earlier choice is marked; rate this item again.");
  } else {
    setStatus(done === 0 ? "Read the conversation, then the answers." : "Saved.");
  }
  window.scrollTo(0, 0);
}

function vote(verdict) {
  if (!state.view?.item || state.view.protocol !== "pairwise") return;
  call("rate", { rater: state.view.rater, item: state.view.item.key, verdict, comment: $("comment").value });
}

function submitScores() {
  if (!state.view?.item || state.view.protocol !== "pointwise") return;
  const missing = state.view.criteria.findIndex((c) => !(c.name in state.scores));
  if (missing >= 0) {
    setActive(missing);
    setStatus(`Score every line first (missing: ${state.view.criteria[missing].name}).`, true);
    return;
  }
  call("rate", { rater: state.view.rater, item: state.view.item.key, scores: state.scores,
                 comment: $("comment").value });
}

function undo() {
  if (state.view) call("undo", { rater: state.view.rater });
}

const PAIR_KEYS = { a: "A", b: "B", t: "tie", x: "both_bad" };

function onKey(event) {
  if (event.target.matches("textarea, input")) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || !state.view || state.view.finished && event.key !== "u") return;
  const key = event.key.toLowerCase();
  if (key === "u") {
    undo();
  } else if (state.view.protocol === "pairwise" && PAIR_KEYS[key]) {
    vote(PAIR_KEYS[key]);
  } else if (state.view.protocol === "pointwise" && /^[0-9]$/.test(key)) {
    setScore(state.active, key === "0" ? 10 : Number(key));
  } else if (state.view.protocol === "pointwise" && key === "enter") {
    submitScores();
  } else if (state.view.protocol === "pointwise" && (key === "arrowup" || key === "arrowdown")) {
    setActive(state.active + (key === "arrowup" ? -1 : 1));
  } else {
    return;
  }
  event.preventDefault();
}

async function start(event) {
  event.preventDefault();
  const name = $("name").value.trim();
  if ($("key").value.trim()) sessionStorage.setItem(KEY_STORE, $("key").value.trim());
  if (name) call("join", { name });
}

async function init() {
  // A link like http://host:8010/#key=SECRET hands raters the access key; it is moved to this
  // tab's sessionStorage and removed from the address bar.
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromLink) {
    sessionStorage.setItem(KEY_STORE, fromLink);
    history.replaceState(null, "", location.pathname);
  }
  $("join").addEventListener("submit", start);
  document.querySelectorAll(".vote").forEach((b) => b.addEventListener("click", () => vote(b.dataset.verdict)));
  $("submit-scores").addEventListener("click", submitScores);
  $("undo").addEventListener("click", undo);
  $("undo-finished").addEventListener("click", undo);
  $("switch").addEventListener("click", forget);
  document.addEventListener("keydown", onKey);
  const health = await (await fetch("health")).json();
  const needKey = health.auth_required && !sessionStorage.getItem(KEY_STORE);
  $("key-label").hidden = !health.auth_required;
  const name = localStorage.getItem(NAME_STORE);
  if (name && !needKey) {
    $("name").value = name;
    await call("join", { name });
  } else {
    show("join");
    $("name").value = name || "";
    setStatus(needKey ? "This session needs an access key: ask whoever runs it." : "Enter your name to start.");
  }
  document.body.dataset.ready = "true";
}

init();
