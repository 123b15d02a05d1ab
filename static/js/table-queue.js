// The officer's offline queue: marks made while the connection is down are kept on the phone
// (localStorage) and sent, one by one and in order, as soon as it returns. Each mark carries an
// id made here, so a mark sent twice (the answer lost on the way back) is recognised by the
// server, and the time it was made, so the server can tell a conflict from a late mark.
// Without this script the page still works, online, with plain forms.
(function () {
  "use strict";
  var queue = document.getElementById("queue");
  if (!queue) return;
  var storageKey = queue.dataset.storageKey;
  var markUrl = queue.dataset.markUrl;
  var texts = document.getElementById("queue-texts").dataset;
  var list = document.getElementById("queue-list");
  var state = document.getElementById("queue-state");
  var banner = document.getElementById("offline-banner");
  var form = document.getElementById("queue-form");
  var input = document.getElementById("queue-cedula");
  var formError = document.getElementById("queue-error");
  var csrf = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var sending = false;
  var CEDULA = /^\s*[VvEe]\s*-?\s*[0-9][0-9.]{4,11}\s*$/;

  function load() {
    try { return JSON.parse(localStorage.getItem(storageKey)) || []; } catch (e) { return []; }
  }
  function save(items) { localStorage.setItem(storageKey, JSON.stringify(items)); }

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function item(text, kind, id) {
    var li = document.createElement("li");
    li.className = "card queued " + kind;
    li.dataset.outcome = kind;
    if (id) li.dataset.markId = id;
    li.textContent = text;
    return li;
  }

  function render() {
    var items = load();
    Array.prototype.slice.call(list.querySelectorAll("li[data-outcome=waiting]")).forEach(function (li) { li.remove(); });
    items.forEach(function (mark) {
      list.insertBefore(item(mark.cedula + " · " + texts.waiting, "waiting", mark.mark_id), list.firstChild);
    });
    state.textContent = items.length ? items.length + " " + texts.pending : "";
    var offline = !navigator.onLine;
    queue.hidden = !(offline || items.length || list.children.length);
    if (banner) banner.hidden = !offline;
  }

  function enqueue(cedula, markId) {
    var items = load();
    items.push({ mark_id: markId || newId(), cedula: cedula, marked_at: new Date().toISOString() });
    save(items);
    render();
  }

  function send(mark) {
    var body = new URLSearchParams({ cedula: mark.cedula, mark_id: mark.mark_id, marked_at: mark.marked_at });
    return fetch(markUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf },
    });
  }

  // Sends the waiting marks in order; stops at the first one the network does not carry.
  function flush() {
    if (sending || !navigator.onLine) { render(); return; }
    var items = load();
    if (!items.length) { render(); return; }
    sending = true;
    state.textContent = texts.sending;
    var mark = items[0];
    send(mark).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) {
        // Signed out, or the table's days are over: keep the marks and say so.
        state.textContent = texts.signedOut;
        sending = false;
        return;
      }
      return response.json().then(function (answer) {
        save(load().filter(function (m) { return m.mark_id !== mark.mark_id; }));
        var kind = answer.outcome === "marked" || answer.outcome === "repeat" ? "sent" : answer.outcome;
        var who = answer.cedula ? answer.cedula + " · " + answer.name : mark.cedula;
        list.insertBefore(item(who + ": " + answer.message, kind, mark.mark_id), list.firstChild);
        if (kind === "sent") {
          var marks = document.getElementById("marks");
          if (marks && answer.outcome === "marked") marks.textContent = String(Number(marks.textContent) + 1);
        }
        sending = false;
        flush();
      });
    }).catch(function () {
      sending = false;
      render();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var cedula = input.value.trim();
    formError.hidden = CEDULA.test(cedula);
    if (!formError.hidden) { input.focus(); return; }
    enqueue(cedula.toUpperCase());
    input.value = "";
    input.focus();
    flush();
  });

  // The live "Mark as voted" button: the answer is shown in place; if the connection fails
  // right then, the mark is queued with the same id, so it cannot count twice.
  Array.prototype.forEach.call(document.querySelectorAll(".mark-form"), function (markForm) {
    markForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(markForm);
      var box = markForm.closest(".voter");
      var mark = { cedula: String(data.get("cedula")), mark_id: String(data.get("mark_id")) };
      if (!navigator.onLine) {
        enqueue(mark.cedula, mark.mark_id);
        box.hidden = true;
        return;
      }
      mark.marked_at = "";
      send(mark).then(function (response) {
        return response.json().then(function (answer) {
          box.className = "notice voter" + (answer.outcome === "marked" || answer.outcome === "repeat" ? "" : " error");
          box.dataset.voter = answer.outcome;
          box.setAttribute("role", "alert");
          box.textContent = (answer.cedula ? answer.cedula + " · " + answer.name + ": " : "") + answer.message;
          var marks = document.getElementById("marks");
          if (marks && answer.outcome === "marked") marks.textContent = String(Number(marks.textContent) + 1);
          document.getElementById("id_cedula").focus();
        });
      }).catch(function () {
        enqueue(mark.cedula, mark.mark_id);
        box.hidden = true;
      });
    });
  });

  window.addEventListener("online", flush);
  window.addEventListener("offline", render);
  setInterval(flush, 15000);
  render();
  flush();
})();
