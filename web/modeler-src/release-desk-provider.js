/* "Who does this" in the properties panel: one checkbox per group the product knows, for a user
 * task's camunda:candidateGroups, a process's camunda:candidateStarterGroups and the senders of a
 * message a catch event waits for (camunda:property "senders"). The list comes
 * from the page (engine.users.GROUPS), so a designer picks groups instead of typing them, and a
 * typo cannot name a group that does not exist. Groups already in the attribute keep their order;
 * ticked ones are appended. */
import { CheckboxEntry } from "@bpmn-io/properties-panel";
import { jsx } from "@bpmn-io/properties-panel/preact/jsx-runtime";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

function split(text) {
  return (text || "").split(",").map(function (g) { return g.trim(); }).filter(Boolean);
}

function GroupCheckbox(props) {
  var element = props.element, group = props.group, attr = props.attr;
  var modeling = useService("modeling");
  var target = props.target(element);
  return jsx(CheckboxEntry, {
    element: element,
    id: props.id,
    label: group,
    getValue: function () { return split(target.get(attr)).indexOf(group) !== -1; },
    setValue: function (checked) {
      var groups = split(target.get(attr)).filter(function (g) { return g !== group; });
      if (checked) { groups.push(group); }
      var value = groups.length ? groups.join(",") : undefined;
      var update = {};
      update[attr] = value;
      if (target === getBusinessObject(element)) {
        modeling.updateProperties(element, update);
      } else {
        modeling.updateModdleProperties(element, target, update);
      }
    },
  });
}

/* Senders of a message are a camunda:property named "senders" on the catching event. */
function findSenders(bo) {
  var ext = bo.get("extensionElements");
  var props = ext ? ext.get("values").filter(function (v) { return is(v, "camunda:Properties"); })[0] : null;
  var prop = props ? props.get("values").filter(function (p) { return p.get("name") === "senders"; })[0] : null;
  return { ext: ext, props: props, prop: prop };
}

function SenderCheckbox(props) {
  var element = props.element, group = props.group;
  var modeling = useService("modeling");
  var bpmnFactory = useService("bpmnFactory");
  var bo = getBusinessObject(element);
  return jsx(CheckboxEntry, {
    element: element,
    id: props.id,
    label: group,
    getValue: function () {
      var prop = findSenders(bo).prop;
      return split(prop && prop.get("value")).indexOf(group) !== -1;
    },
    setValue: function (checked) {
      var found = findSenders(bo);
      var groups = split(found.prop && found.prop.get("value")).filter(function (g) { return g !== group; });
      if (checked) { groups.push(group); }
      var value = groups.join(",");
      if (found.prop) {
        modeling.updateModdleProperties(element, found.prop, { value: value });
        return;
      }
      var ext = found.ext, list = found.props;
      if (!ext) {
        ext = bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
        ext.$parent = bo;
        modeling.updateProperties(element, { extensionElements: ext });
      }
      if (!list) {
        list = bpmnFactory.create("camunda:Properties", { values: [] });
        list.$parent = ext;
        modeling.updateModdleProperties(element, ext, { values: ext.get("values").concat([list]) });
      }
      var prop = bpmnFactory.create("camunda:Property", { name: "senders", value: value });
      prop.$parent = list;
      modeling.updateModdleProperties(element, list, { values: list.get("values").concat([prop]) });
    },
  });
}

function catchesMessage(element) {
  if (!is(element, "bpmn:CatchEvent")) { return false; }
  return (getBusinessObject(element).get("eventDefinitions") || []).some(function (d) {
    return is(d, "bpmn:MessageEventDefinition");
  });
}

function groupEntries(prefix, groups, attr, target) {
  return groups.map(function (group) {
    return { id: prefix + "-" + group, component: GroupCheckbox, group: group, attr: attr, target: target,
             isEdited: function () { return false; } };
  });
}

function ReleaseDeskPropertiesProvider(propertiesPanel, config) {
  var groups = (config && config.groups) || [];
  this.getGroups = function (element) {
    return function (existing) {
      if (is(element, "bpmn:UserTask")) {
        existing.splice(1, 0, {
          id: "releasedesk-candidate-groups",
          label: "Who does this task (candidate groups)",
          entries: groupEntries("rd-candidate", groups, "camunda:candidateGroups", getBusinessObject),
        });
      }
      if (catchesMessage(element)) {
        existing.splice(1, 0, {
          id: "releasedesk-senders",
          label: "Who may send this message (senders)",
          entries: groups.map(function (group) {
            return { id: "rd-sender-" + group, component: SenderCheckbox, group: group,
                     isEdited: function () { return false; } };
          }),
        });
      }
      var process = is(element, "bpmn:Process") ? getBusinessObject(element)
        : is(element, "bpmn:Participant") ? getBusinessObject(element).get("processRef") : null;
      if (process) {
        existing.splice(1, 0, {
          id: "releasedesk-starter-groups",
          label: "Who may start a case (starter groups)",
          entries: groupEntries("rd-starter", groups, "camunda:candidateStarterGroups", function () { return process; }),
        });
      }
      return existing;
    };
  };
  propertiesPanel.registerProvider(400, this);  // after getGroups exists: the panel checks for it
}

ReleaseDeskPropertiesProvider.$inject = ["propertiesPanel", "config.releaseDesk"];

export default {
  __init__: ["releaseDeskPropertiesProvider"],
  releaseDeskPropertiesProvider: ["type", ReleaseDeskPropertiesProvider],
};
