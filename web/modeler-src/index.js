/* Release Desk modeler bundle: bpmn-js Modeler with the properties panel and the Camunda 7 moddle,
 * plus our own "Who does this" entries (candidate groups and starter groups chosen from the
 * product's groups). Built by `npm run build` with esbuild into web/static/vendor/modeler/, which
 * is committed, so the product needs neither internet nor a build at install time.
 *
 * It only defines window.ReleaseDeskModeler; web/static/manage-modeler.js drives the page. */
import BpmnModeler from "bpmn-js/lib/Modeler";
import {
  BpmnPropertiesPanelModule,
  BpmnPropertiesProviderModule,
  CamundaPlatformPropertiesProviderModule,
} from "bpmn-js-properties-panel";
import camundaModdle from "camunda-bpmn-moddle/resources/camunda.json";

import ReleaseDeskPropertiesModule from "./release-desk-provider.js";

window.ReleaseDeskModeler = function ReleaseDeskModeler(options) {
  return new BpmnModeler({
    container: options.container,
    propertiesPanel: { parent: options.propertiesParent },
    additionalModules: [
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      CamundaPlatformPropertiesProviderModule,
      ReleaseDeskPropertiesModule,
    ],
    moddleExtensions: { camunda: camundaModdle },
    releaseDesk: { groups: options.groups || [] },
  });
};
