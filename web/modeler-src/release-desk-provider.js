/* "Who does this" in the properties panel: one checkbox per group the product knows, for a user
 * task's camunda:candidateGroups and a process's camunda:candidateStarterGroups. The list comes
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
