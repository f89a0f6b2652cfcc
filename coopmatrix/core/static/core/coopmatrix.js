// When an HTMX request fails (a server error, a refused filter, a lost connection), say so in the
// page: without this, htmx leaves the old results in place and the user believes they are current.
(function () {
  "use strict";
  function banner() {
    return document.getElementById("request-error");
  }
  function show(text) {
    var box = banner();
    if (!box) { return; }
    box.querySelector("[data-message]").textContent = text;
    box.hidden = false;
  }
  document.addEventListener("htmx:beforeRequest", function () {
    var box = banner();
    if (box) { box.hidden = true; }
  });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var box = banner();
    var template = box ? box.getAttribute("data-status-text") : "";
    show(template.replace("%(status)s", String(status)));
  });
  document.addEventListener("htmx:sendError", function () {
    var box = banner();
    show(box ? box.getAttribute("data-network-text") : "");
  });
  document.addEventListener("click", function (event) {
    if (event.target && event.target.matches("[data-dismiss-error]")) {
      var box = banner();
      if (box) { box.hidden = true; }
    }
  });
})();
