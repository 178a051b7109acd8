"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
const I18N = JSON.parse(document.getElementById("i18n").textContent);

// A message of the page's catalog (see portal/i18n.py JS_MESSAGES), with its %(name)s filled.
// A message said of a number (`count`) has a form for each plural category of the language.
function t(key, params, count) {
  let message = I18N.messages[key] || key;
  if (typeof message === "object") message = message[plurals.select(count)] || message.other;
  return message.replace(/%\((\w+)\)s/g, (_, name) => String((params || {})[name]));
}
const plurals = new Intl.PluralRules(I18N.locale);

const number = (n) => new Intl.NumberFormat(I18N.locale).format(n);

// The browser's time zone, for dates the console writes.
document.cookie = `tz=${encodeURIComponent(Intl.DateTimeFormat().resolvedOptions().timeZone)}; path=/; max-age=31536000; samesite=lax`;

async function api(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    // The edge's refusals come before the language is known: said from the page's catalog.
    const said = I18N.messages["error_" + error.code];
    throw new Error(said || error.message || t("request_failed", { status: response.status }));
  }
  return data;
}

function flash(message, kind) {
  const box = document.getElementById("flash");
  box.textContent = message;
  box.className = kind || "";
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

// An error shown next to the control that caused it (a phone shows it where the finger is).
function errorAt(control, message) {
  const form = control.closest("form");
  let line = form ? form.querySelector("[data-role=error]") : control.nextElementSibling;
  if (!line || line.dataset.role !== "error") {
    line = element("span", "", "error");
    line.dataset.role = "error";
    line.setAttribute("role", "alert");
    line.style.display = "block";
    if (form) form.append(line); else control.after(line);
  }
  line.textContent = message;
  line.hidden = !message;
}

function handleSubmit(form, handler) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = event.submitter;
    errorAt(form, "");
    try {
      if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
      await handler(form, button);
    } catch (error) {
      errorAt(form, error.message);
    } finally {
      if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
    }
  });
}

function onSubmit(id, handler) {
  const form = document.getElementById(id);
  if (form) handleSubmit(form, handler);
}

onSubmit("auth-form", async (form) => {
  const mode = form.dataset.mode;
  await api(mode === "signup" ? "/api/signup" : "/api/login", {
    email: form.email.value, password: form.password.value,
  });
  window.location = mode === "signup" ? "/onboarding" : "/";
});

// The commands that set the agent up, as the person types them where the download went.
function agentSteps(box, pkg) {
  box.append(element("p", t("steps_where")));
  box.append(element("pre", "chmod +x libervia-agent"));
  const command = `./libervia-agent configure --institution-id ${pkg.institution_id} ` +
    `--actor-token ${pkg.agent_token} --engine-base-url ${pkg.engine_base_url} --root-dir ~/Organize`;
  box.append(element("pre", command, "command"));
  box.append(element("p", t("steps_service")));
  box.append(element("pre", "./libervia-agent service install", "service"));
  box.append(element("p", t("steps_run"), "small"));
}

onSubmit("onboarding-form", async (form) => {
  const result = await api("/api/onboarding", { name: form.name.value });
  const pkg = result.runtime_package;
  const box = document.getElementById("runtime-package");
  box.replaceChildren();
  box.append(element("p", t("token_once")));
  agentSteps(box, pkg);
  form.replaceWith(element("p", t("onboarded", { name: result.institution.name, ref: result.contract.ref })));
  flash(t("institution_created"), "ok");
});

const FOLLOW_EVERY_MS = 1000;

// Show a request's state live in `line` until it is final ("done", "failed: …", …).
async function follow(proposalId, line) {
  for (;;) {
    let state;
    try {
      state = (await api(`/api/proposals/${proposalId}`)).state;
    } catch (error) {
      line.textContent = error.message;
      line.className = "state error";
      return null;
    }
    line.textContent = state.message;
    const progress = state.progress;
    if (progress && progress.total) {
      const bar = element("progress");
      bar.max = progress.total;
      bar.value = progress.done || 0;
      bar.setAttribute("aria-label", state.message);
      line.append(bar);
    }
    line.className = `state ${state.state}`;
    line.dataset.state = state.state;
    if (state.final) return state;
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
  }
}

document.querySelectorAll("form.decision").forEach((form) => {
  handleSubmit(form, async (_form, button) => {
    const verdict = button.value;
    await api(`/api/approvals/${form.dataset.proposal}/${verdict}`, {
      digest: form.dataset.digest, reason: form.reason.value,
    });
    const line = element("p", verdict === "approve" ? t("approved") : t("rejected"), "state");
    form.replaceWith(line);
    follow(form.dataset.proposal, line);
  });
});

onSubmit("forgot-form", async (form) => {
  await api("/api/password/forgot", { email: form.email.value });
  document.getElementById("forgot-sent").hidden = false;
});

onSubmit("reset-form", async (form) => {
  await api("/api/password/reset", { token: form.dataset.token, password: form.password.value });
  form.hidden = true;
  document.getElementById("reset-done").hidden = false;
});

document.querySelectorAll("[data-action=verify-again]").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await api("/api/email/verify-again", {});
      errorAt(button, "");
      button.replaceWith(element("span", t("verification_sent"), "ok"));
    } catch (error) {
      errorAt(button, error.message);
      button.disabled = false;
    }
  });
});

onSubmit("choices-form", async (form) => {
  const email = {};
  form.querySelectorAll("input[type=checkbox]").forEach((box) => { email[box.name] = box.checked; });
  await api("/api/notifications/choices", { email });
  flash(t("saved"), "ok");
});

onSubmit("invite-form", async (form) => {
  await api("/api/invitations", { email: form.email.value, role: form.role.value });
  window.location.reload();
});

onSubmit("accept-form", async (form) => {
  const body = { token: form.dataset.token };
  if (form.password) body.password = form.password.value;
  await api("/api/invitations/accept", body);
  window.location = "/dashboard";
});

document.querySelectorAll("form.remove-member").forEach((form) => {
  handleSubmit(form, async () => {
    if (!window.confirm(t("confirm_remove", { email: form.dataset.email }))) return;
    await api(`/api/members/${form.dataset.user}/remove`, {});
    form.closest("li").remove();
  });
});

document.querySelectorAll("form.withdraw-invitation").forEach((form) => {
  handleSubmit(form, async () => {
    await api(`/api/invitations/${form.dataset.invitation}/withdraw`, {});
    form.closest("li").remove();
  });
});

function say(log, result) {
  const answer = element("p", result.reply, `engine ${result.decision || "help"}`);
  answer.dataset.decision = result.decision ||
    (result.not_found ? "not_found" : result.inspecting ? "inspecting" : "help");
  log.append(answer);
  return answer;
}

onSubmit("chat-form", async (form) => {
  const text = form.text.value;
  const log = document.getElementById("conversation");
  log.append(element("p", text, "me"));
  form.text.value = "";
  let result = await api("/api/chat", { text });
  say(log, result);
  if (result.inspecting) {
    const line = element("p", "", "state");
    log.append(line);
    await follow(result.inspecting, line);
    result = await api("/api/chat", { text, inspected: result.inspecting });
    say(log, result);
  }
  if (result.proposal_id) {
    const line = element("p", "", "state");
    log.append(line);
    follow(result.proposal_id, line);
  }
});

for (const [action, path] of [["logout", "/api/logout"], ["logout-everywhere", "/api/logout-everywhere"]]) {
  document.querySelectorAll(`[data-action=${action}]`).forEach((button) => {
    button.addEventListener("click", async () => {
      await api(path, {});
      window.location = "/login";
    });
  });
}

const downloads = document.querySelector("[data-load=downloads]");
if (downloads) {
  api("/api/downloads").then((data) => {
    downloads.replaceChildren();
    if (!data.files.length) {
      downloads.append(element("p", t("no_build")));
      return;
    }
    const list = element("ul", undefined, "builds");
    for (const file of data.files) {
      const item = element("li");
      const link = element("a", t("build", { version: file.version, os: file.os, arch: file.arch }));
      link.href = file.url;
      item.append(link);
      if (file.version === data.newest) item.append(element("span", ` ${t("newest")}`, "ok"));
      item.append(element("br"), element("code", `${file.name} sha256 ${file.sha256}`, "small"));
      list.append(item);
    }
    downloads.append(element("p", t("saved_as"), "small"));
    const sums = element("a", "SHA256SUMS");
    sums.href = data.sha256sums_url;
    downloads.append(list, sums);
  }).catch((error) => flash(error.message, "error"));
}

const publicKey = document.querySelector("[data-load=public-key]");
if (publicKey) {
  api("/api/audit/public-key").then((data) => { publicKey.textContent = data.public_key; });
}

const chainStatus = document.querySelector("[data-load=chain-status]");
if (chainStatus) {
  api("/api/audit/verify").then((data) => {
    chainStatus.textContent = data.ok
      ? t("chain_ok", { events: number(data.events), head: data.head_hash.slice(0, 16) })
      : t("chain_broken", { seq: data.first_bad_seq, reason: data.reason });
    chainStatus.className = data.ok ? "ok" : "error";
    const witness = document.getElementById("witness-status");
    if (witness && data.witness) {
      witness.textContent = data.witness.status === "ok"
        ? t("witness_ok", { size: number(data.witness.size) })
        : t("witness_alarm", { problem: data.witness.problem });
      witness.className = data.witness.status === "ok" ? "ok" : "error";
    }
  }).catch((error) => { chainStatus.textContent = error.message; });
}

function sizeText(n) {
  if (n < 1000) return t("bytes", { num: n }, n);
  let value = n;
  for (const unit of ["kB", "MB", "GB", "TB"]) {
    value /= 1000;
    if (value < 1000) return `${new Intl.NumberFormat(I18N.locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value)} ${unit}`;
  }
  return `${(value / 1000).toFixed(1)} PB`;
}

function show(line, result) {
  line.hidden = false;
  line.textContent = result.reply;
  line.className = `state ${result.decision}`;
}

// Ask, then follow the answer live in `line`; `then` runs once it is final.
async function askAndFollow(path, body, line, then) {
  try {
    const result = await api(path, body);
    show(line, result);
    if (result.decision === "pending_approval") {
      const link = element("a", ` ${t("review")}`);
      link.href = "/approvals";
      line.append(link);
    }
    if (result.proposal_id && result.decision !== "denied") {
      const state = element("p", "", "state");
      line.after(state);
      const final = await follow(result.proposal_id, state);
      if (final && then) then(final);
    }
  } catch (error) {
    line.hidden = false;
    line.textContent = error.message;
    line.className = "state error";
    line.setAttribute("role", "alert");
    if (then) then({ state: "error" });
  }
}

document.querySelectorAll("[data-action=scan]").forEach((button) => {
  button.addEventListener("click", () => {
    button.disabled = true;
    askAndFollow("/api/scan", {}, document.getElementById("scan-state"), (state) => {
      if (state.state === "done") window.location.reload();
      button.disabled = false;
    });
  });
});

document.querySelectorAll("form.selection").forEach((form) => {
  const counter = form.querySelector("[data-role=selected]");
  const count = () => {
    const boxes = [...form.querySelectorAll("input[name=path]:checked")];
    const bytes = boxes.reduce((sum, box) => sum + Number(box.dataset.size || 0), 0);
    if (counter) counter.textContent = t("selected", { num: number(boxes.length), size: sizeText(bytes) }, boxes.length);
    return boxes.map((box) => box.value);
  };
  count();
  form.addEventListener("change", count);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const paths = count();
    if (!paths.length) return errorAt(event.submitter, t("select_one"));
    errorAt(form, "");
    event.submitter.disabled = true;
    askAndFollow("/api/quarantine-files", { paths }, document.getElementById("selection-state"));
  });
});

document.querySelectorAll("[data-action=restore]").forEach((button) => {
  button.addEventListener("click", () => {
    button.disabled = true;
    const line = button.nextElementSibling;
    askAndFollow("/api/restore", { quarantine_id: button.dataset.quarantineId }, line, (state) => {
      if (state.state === "done") button.closest("tr").classList.add("restored");
      else button.disabled = false;
    });
  });
});

document.querySelectorAll("form.purge").forEach((form) => {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const ids = [...form.querySelectorAll("input[name=quarantine_id]:checked")].map((b) => b.value);
    if (!ids.length) return errorAt(event.submitter, t("select_one"));
    errorAt(form, "");
    askAndFollow("/api/purge", { quarantine_ids: ids }, document.getElementById("purge-state"));
  });
});

document.querySelectorAll("[data-action=approve-contract]").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const released = await api("/api/contract/approve", { manifest_sha256: button.dataset.manifest });
      flash(t("contract_now", { ref: released.ref }), "ok");
      button.closest("section").remove();
    } catch (error) {
      errorAt(button, error.message);
      button.disabled = false;
    }
  });
});

document.querySelectorAll("[data-action=reissue-token]").forEach((button) => {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const issued = await api("/api/agent-token", {});
      const shown = document.getElementById("new-token");
      shown.replaceChildren();
      agentSteps(shown, issued);
      shown.hidden = false;
      flash(t("token_reissued"), "ok");
    } catch (error) {
      errorAt(button, error.message);
      button.disabled = false;
    }
  });
});

// Pages wait for the engine: while the next one is on its way, say so (a bar and aria-busy).
function loading() {
  document.body.classList.add("loading");
  document.getElementById("main").setAttribute("aria-busy", "true");
}
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || link.hasAttribute("download") || link.target || event.ctrlKey || event.metaKey) return;
  const to = new URL(link.href, window.location.href);
  if (to.origin === window.location.origin && !to.pathname.startsWith("/api/") && !to.hash) loading();
});
document.querySelectorAll("form[method=get]").forEach((form) => form.addEventListener("submit", loading));
window.addEventListener("pageshow", () => {
  document.body.classList.remove("loading");
  document.getElementById("main").removeAttribute("aria-busy");
});
