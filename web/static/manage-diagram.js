/* Release Desk: read-only BPMN diagrams on the case and pathway pages.
 *
 * bpmn-js (NavigatedViewer) is served by the app from node_modules; the data comes from data-*
 * attributes on #diagram (CSP forbids inline script):
 *   data-xml-url    where to fetch the BPMN XML
 *   data-completed  JSON list of completed activity ids   -> marker rd-completed
 *   data-active     JSON list of active activity ids      -> marker rd-active
 *   data-flows      JSON list of taken sequence flow ids  -> marker rd-taken
 *   data-counts     JSON {activity id: cases waiting}     -> a count badge (overlay)
 *   data-instances-url  pathway page: clicking an activity opens this URL + the activity id
 * On a case page, clicking an activity filters the audit trail (#history) to that activity.
 * When everything is drawn the container gets data-ready="true" (the browser tests wait for it). */
(function () {
  "use strict";

  function json(el, name, fallback) {
    try { return JSON.parse(el.dataset[name] || ""); } catch (e) { return fallback; }
  }

  function isActivity(element) {
    var type = element && element.type || "";
    return type !== "bpmn:Process" && type !== "bpmn:Collaboration" && type !== "bpmn:Participant" &&
      type !== "bpmn:Lane" && type !== "bpmn:SequenceFlow" && type !== "label" && type.indexOf("bpmn:") === 0;
  }

  function filterHistory(activityId, name) {
    var rows = document.querySelectorAll("#history tbody tr");
    var label = document.getElementById("history-filter");
    var reset = document.getElementById("history-all");
    var shown = 0;
    rows.forEach(function (row) {
      var match = !activityId || row.dataset.activity === activityId;
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    if (label) {
      label.hidden = !activityId;
      label.textContent = activityId ? "· " + (name || activityId) + " (" + shown + ")" : "";
    }
    if (reset) { reset.hidden = !activityId; }
  }

  function countBadge(n) {
    var badge = document.createElement("span");
    badge.className = "rd-count";
    badge.textContent = String(n);
    badge.title = n + (n === 1 ? " case waits here" : " cases wait here");
    return badge;
  }

  async function show(el) {
    var viewer = new window.BpmnJS({ container: el.querySelector(".canvas") || el });
    var response = await fetch(el.dataset.xmlUrl, { credentials: "same-origin" });
    if (!response.ok) { throw new Error("could not load the diagram (" + response.status + ")"); }
    await viewer.importXML(await response.text());
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var overlays = viewer.get("overlays");
    canvas.zoom("fit-viewport", "auto");

    function mark(ids, cls) {
      ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, cls); } });
    }
    mark(json(el, "completed", []), "rd-completed");
    mark(json(el, "flows", []), "rd-taken");
    mark(json(el, "active", []), "rd-active");

    var counts = json(el, "counts", {});
    Object.keys(counts).forEach(function (id) {
      if (registry.get(id) && counts[id] > 0) {
        overlays.add(id, "rd-count", { position: { top: -12, right: 12 }, html: countBadge(counts[id]) });
      }
    });

    viewer.get("eventBus").on("element.click", function (event) {
      var element = event.element;
      if (!isActivity(element)) {
        if (el.dataset.mode === "instance") { filterHistory(null); }
        return;
      }
      if (el.dataset.instancesUrl) {
        window.location.href = el.dataset.instancesUrl + encodeURIComponent(element.id);
      } else if (el.dataset.mode === "instance") {
        filterHistory(element.id, element.businessObject && element.businessObject.name);
      }
    });
    var reset = document.getElementById("history-all");
    if (reset) { reset.addEventListener("click", function () { filterHistory(null); }); }
    el.dataset.ready = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("diagram");
    if (!el) { return; }
    if (!window.BpmnJS) {  // the viewer script is missing: say so rather than leave an empty box
      if (!document.getElementById("diagram-missing")) {
        var note = document.createElement("p");
        note.id = "diagram-missing";
        note.className = "diagram-missing";
        note.setAttribute("role", "alert");
        note.textContent = "The diagram viewer (bpmn-js) could not be loaded, so the diagram cannot be drawn.";
        el.appendChild(note);
      }
      el.dataset.ready = "missing";
      return;
    }
    show(el).catch(function (error) {
      el.dataset.ready = "error";
      var note = document.createElement("p");
      note.className = "error";
      note.textContent = "The diagram could not be shown: " + error.message;
      el.appendChild(note);
    });
  });
}());
