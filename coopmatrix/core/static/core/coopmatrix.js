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

// Multi-value filters as searchable pickers (Tom Select): type to narrow hundreds of States or
// organizations, chosen values shown as chips with a remove button. The <select> underneath keeps
// its name and values, so the form, its URL and HTMX work as without JavaScript.
(function () {
  "use strict";
  function picker(select) {
    if (select.tomselect) { return; }
    if (select.classList.contains("tomselected")) {
      // A page restored from HTMX's history holds the drawn picker but not its script object:
      // remove the copy and draw it again.
      var stale = select.nextElementSibling;
      if (stale && stale.classList.contains("ts-wrapper")) { stale.remove(); }
      select.classList.remove("tomselected", "ts-hidden-accessible");
      select.removeAttribute("tabindex");
      select.removeAttribute("hidden");
    }
    // Options keep the order the server gives (names alphabetical, regions by name); what is
    // typed ranks the matches first.
    var drawn = new window.TomSelect(select, {
      plugins: { remove_button: { title: select.getAttribute("data-remove-label") || "Remove" } },
      maxOptions: null,
      hidePlaceholder: true,
      closeAfterSelect: false,
      sortField: [{ field: "$score" }, { field: "$order" }],
      placeholder: select.getAttribute("data-placeholder") || "",
      // Narrow the list on each key, not 300 ms after the last one (Tom Select's default): a
      // choice made within that time had its list opened again after it was closed, over the
      // fields below, which then took no clicks.
      refreshThrottle: 0,
      // After a choice the words typed go, so that the next State is found by typing its name
      // (Tom Select keeps them by default: "KyrgyzTajik" finds nothing).
      onItemAdd: function () {
        this.setTextboxValue("");
        this.refreshOptions(false);
      }
    });
    // The words typed to find an option are not a filter: their own "change" (on leaving the
    // box) must not reach the form, whose HTMX request would then push its URL over a link the
    // user just followed. The <select> underneath reports the real changes.
    drawn.control_input.addEventListener("change", function (event) { event.stopPropagation(); });
    // Tom Select moves the label to its own box, which assistive technology reads; the <select>
    // underneath (unfocusable, out of sight) would be read a second time, without a name.
    select.setAttribute("aria-hidden", "true");
  }
  function draw(root) {
    if (!window.TomSelect) { return; }
    (root || document).querySelectorAll("select[data-picker]").forEach(picker);
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:load", function (event) { draw(event.target); });
  document.addEventListener("htmx:historyRestore", function () { draw(document); });
})();

// On a phone the filters fold behind a button above the results, so that the results are what
// the screen shows first; on a wider screen they stay beside them (the button is hidden).
(function () {
  "use strict";
  var small = window.matchMedia("(max-width: 800px)");
  function fold(form, index) {
    if (form.getAttribute("data-foldable") === "done") { return; }
    form.setAttribute("data-foldable", "done");
    if (!form.id) { form.id = "filters-" + index; }
    var label = document.body.getAttribute("data-filters-label") || "Filters";
    // How many filters the address gives (the layout, sorting and paging are not filters).
    var chosen = 0;
    new URLSearchParams(window.location.search).forEach(function (value, key) {
      if (value && ["page", "sort", "per_page", "rows", "cols"].indexOf(key) < 0) { chosen += 1; }
    });
    var button = document.createElement("button");
    button.type = "button";
    button.className = "filters-toggle";
    button.setAttribute("aria-controls", form.id);
    function show(open) {
      form.classList.toggle("folded", !open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
      button.textContent = label + (chosen ? " (" + chosen + ")" : "");
    }
    button.addEventListener("click", function () { show(form.classList.contains("folded")); });
    form.parentNode.insertBefore(button, form);
    show(!small.matches);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.filters").forEach(fold);
  });
})();

// The list of a form's errors at its top links to each field; a field drawn as a picker is
// reached through the picker's own box, and the list takes the focus when the page opens.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest(".error-summary a[href^='#']") : null;
    if (!link) { return; }
    var field = document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return; }
    event.preventDefault();
    var target = field.tomselect ? field.tomselect.control_input : field;
    if (field.tagName === "FIELDSET") { target = field.querySelector("input, select, textarea") || field; }
    target.scrollIntoView({ block: "center" });
    target.focus();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
  });
})();
