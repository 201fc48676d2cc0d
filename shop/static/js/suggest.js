/* Search suggestions under every input[data-suggest-url]: products, categories, brands.
 *
 * Debounced fetch of GET <data-suggest-url>?q=<text>; a Bootstrap dropdown under the box,
 * marked up as an ARIA listbox (WAI-ARIA combobox pattern): one group per kind, labelled by
 * its heading, holding options (each an element of its own, never a link inside an option:
 * an option's children are presentational). ArrowUp/ArrowDown move, Enter or a click opens
 * the highlighted suggestion (or Enter submits the search as typed), Escape closes. Text is inserted with textContent only (no HTML from
 * the server is trusted). Without JavaScript the form simply submits to /search.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  var MIN_CHARS = 2;
  var uid = 0;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function attach(input) {
    var url = input.getAttribute("data-suggest-url");
    var form = input.form;
    var menu = el("div", "dropdown-menu suggest-menu shadow");
    var listId = "suggest-list-" + (++uid);
    var timer = null;
    var controller = null;
    var lastQuery = null;
    var items = [];
    var active = -1;

    menu.id = listId;
    menu.setAttribute("role", "listbox");
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    (input.parentNode || form).appendChild(menu);

    function close() {
      menu.classList.remove("show");
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function open() {
      if (!items.length) return close();
      menu.classList.add("show");
      input.setAttribute("aria-expanded", "true");
    }

    function highlight(index) {
      items.forEach(function (a, i) {
        var on = i === index;
        a.classList.toggle("active", on);
        a.setAttribute("aria-selected", on ? "true" : "false");
      });
      active = index;
      if (index >= 0) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function section(title, entries, render) {
      if (!entries || !entries.length) return;
      var group = el("div", "suggest-group");
      var headId = listId + "-h" + menu.children.length;
      var head = el("div", "dropdown-header", title);
      head.id = headId;
      head.setAttribute("role", "presentation");
      group.setAttribute("role", "group");
      group.setAttribute("aria-labelledby", headId);
      group.appendChild(head);
      entries.forEach(function (entry) {
        var option = el("div", "dropdown-item suggest-item");
        option.id = listId + "-" + items.length;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.setAttribute("data-href", entry.url);
        render(option, entry);
        option.addEventListener("mousedown", function (ev) { ev.preventDefault(); }); // keep focus in the box
        option.addEventListener("click", function () { window.location.assign(entry.url); });
        group.appendChild(option);
        items.push(option);
      });
      menu.appendChild(group);
    }

    function show(data) {
      menu.textContent = "";
      items = [];
      active = -1;
      section("Products", data.products, function (a, p) {
        a.classList.add("suggest-product");
        a.appendChild(el("span", "suggest-name", p.name));
        if (p.brand) a.appendChild(el("small", "text-muted ms-1", p.brand));
      });
      section("Categories", data.categories, function (a, c) {
        a.classList.add("suggest-category");
        a.textContent = c.full_name || c.name;
      });
      section("Brands", data.brands, function (a, b) {
        a.classList.add("suggest-brand");
        a.textContent = b.name;
      });
      open();
    }

    function fetchSuggestions() {
      var q = input.value.trim();
      if (q.length < MIN_CHARS) { lastQuery = null; items = []; return close(); }
      if (q === lastQuery) return open();
      lastQuery = q;
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(q), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller ? controller.signal : undefined
      }).then(function (resp) {
        return resp.ok ? resp.json() : null;
      }).then(function (body) {
        if (body && body.data && input.value.trim() === q) show(body.data);
      }).catch(function () { /* aborted or offline: the plain search still works */ });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DEBOUNCE_MS);
    });
    input.addEventListener("focus", function () { if (items.length && input.value.trim() === lastQuery) open(); });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    input.addEventListener("keydown", function (ev) {
      var shown = menu.classList.contains("show");
      if (ev.key === "ArrowDown") {
        if (!shown) { open(); if (!items.length) return; }
        ev.preventDefault();
        highlight(active + 1 >= items.length ? 0 : active + 1);
      } else if (ev.key === "ArrowUp") {
        if (!shown) return;
        ev.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (ev.key === "Enter") {
        if (shown && active >= 0) {
          ev.preventDefault();
          window.location.assign(items[active].getAttribute("data-href"));
        }
      } else if (ev.key === "Escape") {
        if (shown) { ev.preventDefault(); close(); }
      }
    });
    document.addEventListener("click", function (ev) {
      if (ev.target !== input && !menu.contains(ev.target)) close();
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest-url]"), attach);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
