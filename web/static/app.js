// GOV.UK Frontend components (error summary focus, skip link, notification banners, checkboxes).
// Loaded as a module from this file because the Content-Security-Policy forbids inline script.
import { createAll, ErrorSummary, NotificationBanner, SkipLink, Checkboxes, Radios, Button }
  from "./vendor/govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
for (const Component of [SkipLink, ErrorSummary, NotificationBanner, Checkboxes, Radios, Button]) {
  createAll(Component);
}
// Confirmation steps ("Take over", "Assign"): a form marked data-confirm asks before sending.
for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}
