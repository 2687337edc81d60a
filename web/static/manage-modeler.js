/* Release Desk: the in-browser modeler (bpmn-js Modeler with the properties panel, from the bundle
 * in static/vendor/modeler/ built by `npm run build`).
 *
 * Loads the chosen version's XML from data-xml-url; "Save draft" POSTs the edited XML to
 * data-save-url with the CSRF token in X-CSRFToken. The server checks it as it checks an upload and
 * stores it as a draft version (live only once someone else publishes it), answering
 * {ok, version, changed, url (review page), testRunUrl} or {ok: false, problems: [{file, line, element, message}]}.
 * The properties panel edits candidate groups (checkboxes fed from data-groups), forms, timers,
 * conditions, messages and documentation; the XML source panel remains for anything else.
 * #modeler gets data-ready="true" once the diagram is shown. */
(function () {
  "use strict";

  var el, modeler, status, saveButton, dirty = false;

  function say(text, cls) {
    status.textContent = text;
    status.className = cls || "muted";
  }

  function showProblems(problems) {
    var box = document.getElementById("save-problems");
    var body = box.querySelector("tbody");
    body.textContent = "";
    (problems || []).forEach(function (p) {
      var row = document.createElement("tr");
      row.dataset.element = p.element || "";
      [p.file || "—", p.line || "—", p.element || "—", p.message].forEach(function (value) {
        var cell = document.createElement("td");
        cell.textContent = String(value);
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    box.hidden = !(problems && problems.length);
    if (problems) {
      problems.forEach(function (p) {
        if (p.element && modeler.get("elementRegistry").get(p.element)) {
          modeler.get("canvas").addMarker(p.element, "rd-problem");
        }
      });
    }
  }

  function clearProblemMarkers() {
    var canvas = modeler.get("canvas");
    modeler.get("elementRegistry").forEach(function (element) { canvas.removeMarker(element, "rd-problem"); });
  }

  async function load(xml) {
    await modeler.importXML(xml);
    modeler.get("canvas").zoom("fit-viewport", "auto");
    dirty = false;
  }

  async function save() {
    saveButton.disabled = true;
    say("Checking and deploying…");
    clearProblemMarkers();
    showProblems([]);
    try {
      var result = await modeler.saveXML({ format: true });
      var response = await fetch(el.dataset.saveUrl, {
        method: "POST", credentials: "same-origin", body: result.xml,
        headers: { "Content-Type": "application/xml", "X-CSRFToken": el.dataset.csrf, "Accept": "application/json" }
      });
      var body = null;
      try { body = await response.json(); } catch (e) { body = null; }
      if (response.ok && body && body.ok) {
        dirty = false;
        say(body.changed ? "Saved as draft version " + body.version + "." : "No change: version " + body.version + " is the same.",
            "ok");
        status.dataset.version = String(body.version);
        [[body.url, " Review", "review-link"], [body.testRunUrl, " Test run", "test-run-link"]].forEach(function (item) {
          var link = document.createElement("a");
          link.href = item[0];
          link.id = item[2];
          link.textContent = item[1];
          status.appendChild(document.createTextNode(" ·"));
          status.appendChild(link);
        });
      } else if (body && body.problems) {
        say("Not saved: " + body.problems.length + " problem(s).", "error");
        showProblems(body.problems);
      } else {
        say("Not saved (" + response.status + " " + response.statusText + ").", "error");
      }
    } catch (error) {
      say("Not saved: " + error.message, "error");
    } finally {
      saveButton.disabled = false;
    }
  }

  async function start() {
    el = document.getElementById("modeler");
    status = document.getElementById("save-status");
    saveButton = document.getElementById("save");
    if (!el || !window.ReleaseDeskModeler) { return; }
    modeler = window.ReleaseDeskModeler({
      container: el.querySelector(".canvas"),
      propertiesParent: el.querySelector(".properties"),
      groups: JSON.parse(el.dataset.groups || "[]")
    });
    var response = await fetch(el.dataset.xmlUrl, { credentials: "same-origin" });
    if (!response.ok) { throw new Error("could not load the diagram (" + response.status + ")"); }
    await load(await response.text());
    modeler.on("commandStack.changed", function () { dirty = true; say("Unsaved changes."); });
    saveButton.addEventListener("click", save);
    saveButton.disabled = false;
    say("Ready.");

    var source = document.getElementById("xml-source");
    var text = document.getElementById("xml-text");
    var xmlStatus = document.getElementById("xml-status");
    source.addEventListener("toggle", async function () {
      if (source.open) { text.value = (await modeler.saveXML({ format: true })).xml; }
    });
    document.getElementById("xml-apply").addEventListener("click", async function () {
      saveButton.disabled = true;  // saving mid-import would send the old diagram
      xmlStatus.textContent = "Loading…";
      try {
        await load(text.value);
        dirty = true;
        xmlStatus.textContent = "Loaded; save to deploy it.";
        say("Unsaved changes.");
      } catch (error) {
        xmlStatus.textContent = "Not valid BPMN: " + error.message;
      } finally {
        saveButton.disabled = false;
      }
    });
    window.addEventListener("beforeunload", function (event) {
      if (dirty) { event.preventDefault(); event.returnValue = ""; }
    });
    el.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    start().catch(function (error) {
      var s = document.getElementById("save-status");
      if (s) { s.textContent = "The modeler could not start: " + error.message; s.className = "error"; }
    });
  });
}());
