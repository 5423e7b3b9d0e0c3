// The bin inspector. Captured content is untrusted: it is only ever written with textContent
// (never innerHTML), and the page's CSP allows no inline script.
"use strict";

(function () {
  const root = document.getElementById("inspector");
  if (!root) return;
  const binId = root.dataset.binId;
  const captureUrl = root.dataset.captureUrl;
  const csrfToken = root.dataset.csrfToken;
  const api = "/api/v1/bins/" + encodeURIComponent(binId);
  const list = document.getElementById("events");
  const empty = document.getElementById("empty");
  const more = document.getElementById("load-more");
  const live = document.getElementById("live-status");
  const count = document.getElementById("event-count");
  const seen = new Set();
  let selectedId = null;
  let nextCursor = null;

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function say(node, text) { node.textContent = text; }

  async function getJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + ": HTTP " + response.status);
    return response.json();
  }

  function time(iso) {
    const date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleTimeString() + "." + String(date.getMilliseconds()).padStart(3, "0");
  }

  function updateCount() {
    say(count, seen.size ? "(" + seen.size + ")" : "");
    empty.hidden = seen.size > 0;
  }

  function row(event) {
    const item = el("li");
    const button = el("button");
    button.type = "button";
    button.dataset.id = event.id;
    button.appendChild(el("span", event.method, "m"));
    button.appendChild(el("span", event.sub_path || "/", "p"));
    button.appendChild(el("span", time(event.received_at) + " · " + event.content_length + " B · " + event.remote_ip, "t"));
    button.addEventListener("click", () => select(event.id));
    button.addEventListener("keydown", (key) => {
      const target = key.key === "ArrowDown" ? item.nextElementSibling : key.key === "ArrowUp" ? item.previousElementSibling : null;
      if (target) { key.preventDefault(); target.querySelector("button").focus(); }
    });
    item.appendChild(button);
    return item;
  }

  function add(event, atTop) {
    if (seen.has(event.id)) return;
    seen.add(event.id);
    const item = row(event);
    if (atTop) list.insertBefore(item, list.firstChild); else list.appendChild(item);
    updateCount();
  }

  async function refresh() {
    // After a reconnect: what arrived meanwhile, newest on top.
    const page = await getJson(api + "/events?limit=50");
    page.items.slice().reverse().forEach((event) => add(event, true));
  }

  async function loadPage() {
    const url = api + "/events?limit=50" + (nextCursor ? "&cursor=" + encodeURIComponent(nextCursor) : "");
    const page = await getJson(url);
    page.items.forEach((event) => add(event, false));
    nextCursor = page.next_cursor;
    more.hidden = !page.has_more;
  }

  function fillTable(table, pairs) {
    const body = table.tBodies[0];
    body.replaceChildren();
    pairs.forEach((pair) => {
      const tr = el("tr");
      pair.forEach((cell) => tr.appendChild(el("td", cell)));
      body.appendChild(tr);
    });
    if (!pairs.length) {
      const tr = el("tr");
      tr.appendChild(el("td", "(none)"));
      body.appendChild(tr);
    }
  }

  function hexView(bytes) {
    const lines = [];
    const limit = Math.min(bytes.length, 4096);
    for (let offset = 0; offset < limit; offset += 16) {
      const chunk = bytes.slice(offset, Math.min(offset + 16, limit));
      const hex = Array.from(chunk, (b) => b.toString(16).padStart(2, "0")).join(" ");
      const ascii = Array.from(chunk, (b) => (b >= 32 && b < 127 ? String.fromCharCode(b) : ".")).join("");
      lines.push(offset.toString(16).padStart(8, "0") + "  " + hex.padEnd(47, " ") + "  " + ascii);
    }
    if (bytes.length > limit) lines.push("… " + (bytes.length - limit) + " more bytes (download the raw body)");
    return lines.join("\n");
  }

  function decodeBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function bodyText(event) {
    if (event.body === null) return { label: "Body (binary, hex)", text: hexView(decodeBase64(event.body_base64)) };
    if (/json/i.test(event.content_type)) {
      try { return { label: "Body (JSON)", text: JSON.stringify(JSON.parse(event.body), null, 2) }; } catch (e) { /* shown as text */ }
    }
    return { label: "Body", text: event.body };
  }

  async function select(id) {
    selectedId = id;
    list.querySelectorAll("button[data-id]").forEach((b) => b.setAttribute("aria-current", String(b.dataset.id === id)));
    const event = await getJson(api + "/events/" + encodeURIComponent(id));
    if (selectedId !== id) return;
    say(document.getElementById("detail-heading"), event.method + " " + (event.sub_path || "/"));
    say(document.getElementById("d-method"), event.method);
    say(document.getElementById("d-path"), event.path + (event.query_string ? "?" + event.query_string : ""));
    say(document.getElementById("d-received"), event.received_at);
    say(document.getElementById("d-remote"), event.remote_ip + (event.is_tls ? " (TLS)" : ""));
    say(document.getElementById("d-size"), event.content_length + " bytes" + (event.content_type ? " · " + event.content_type : ""));
    fillTable(document.getElementById("d-query"), event.query);
    fillTable(document.getElementById("d-headers"), event.headers);
    const form = document.getElementById("d-form");
    form.hidden = !event.form;
    if (event.form) {
      fillTable(document.getElementById("d-form-fields"), event.form.fields);
      fillTable(document.getElementById("d-form-files"), event.form.files.map((f) => [f.field, f.filename, f.content_type, String(f.size), f.sha256]));
    }
    const body = bodyText(event);
    say(document.getElementById("d-body-heading"), body.label);
    say(document.getElementById("d-body"), body.text);
    const exportUrl = api + "/events/" + encodeURIComponent(id) + "/export?format=";
    document.getElementById("download-raw").href = exportUrl + "raw";
    document.getElementById("download-har").href = exportUrl + "har";
    say(document.getElementById("replay-status"), "");
    document.getElementById("detail-body").hidden = false;
  }

  async function copy(text, button) {
    const label = button.textContent;
    try { await navigator.clipboard.writeText(text); button.textContent = "Copied"; } catch (e) { button.textContent = "Copy failed"; }
    setTimeout(() => { button.textContent = label; }, 1500);
  }

  document.getElementById("copy-url").addEventListener("click", (e) => copy(captureUrl, e.currentTarget));
  document.getElementById("copy-curl").addEventListener("click", async (e) => {
    const button = e.currentTarget;
    const response = await fetch(api + "/events/" + encodeURIComponent(selectedId) + "/export?format=curl", { credentials: "same-origin" });
    copy((await response.text()).trim(), button);
  });
  more.addEventListener("click", () => loadPage());

  const replayUrl = document.getElementById("replay-url");
  replayUrl.value = root.dataset.defaultReplayUrl || "";
  document.getElementById("replay-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = document.getElementById("replay-status");
    say(status, "Queuing…");
    const response = await fetch(api + "/events/" + encodeURIComponent(selectedId) + "/replay", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
      body: JSON.stringify({ url: replayUrl.value }),
    });
    const data = await response.json();
    say(status, response.ok ? "Replay " + data.status + " (id " + data.id + ")" : "Refused: " + (data.detail || data.code));
  });

  say(document.getElementById("try-curl"), "curl -X POST " + captureUrl + " -H 'Content-Type: application/json' -d '{\"hello\": \"world\"}'");

  let retry = 1000;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + "/ws/bins/" + encodeURIComponent(binId));
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "ready") { say(live, "Live: new requests appear at the top."); retry = 1000; }
      else if (data.type === "event") add(data.event, true);
      else if (data.type === "replay" && data.replay.event_id === selectedId) {
        say(document.getElementById("replay-status"), "Replay " + data.replay.status + (data.replay.response_status ? ": HTTP " + data.replay.response_status : data.replay.error_code ? ": " + data.replay.error_code : ""));
      }
    });
    socket.addEventListener("close", (closed) => {
      if (closed.code === 4404 || closed.code === 4401) { say(live, "Not live (sign in again)."); return; }
      say(live, "Reconnecting…");
      setTimeout(() => { connect(); refresh().catch(() => {}); }, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  updateCount();
  loadPage().catch((error) => say(live, "Could not load requests: " + error.message));
  connect();
})();
