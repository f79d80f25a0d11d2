// As-you-type suggestions for the header's search box. Without this script the box
// is a plain form that opens the search page; with it, the box is an ARIA combobox:
// typing lists a few products, the arrow keys move through them, Enter opens the one
// chosen (or searches, when none is), Escape closes the list and keeps what was typed.
"use strict";

(function () {
  const input = document.getElementById("header-q");
  if (!input || !window.fetch) {
    return;
  }
  const list = document.createElement("ul");
  list.id = "header-suggestions";
  list.className = "suggestions";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "Suggested products");
  list.hidden = true;
  input.form.appendChild(list);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("autocomplete", "off");

  let active = -1;
  let pending = null;
  let timer = 0;

  function options() {
    return Array.from(list.querySelectorAll("[role=option]"));
  }

  function close() {
    list.hidden = true;
    list.replaceChildren();
    active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(index) {
    const all = options();
    all.forEach((option, n) => option.setAttribute("aria-selected", String(n === index)));
    active = index;
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", all[index].id);
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function show(items) {
    list.replaceChildren();
    items.forEach((item, n) => {
      const option = document.createElement("li");
      option.id = "suggestion-" + n;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      const link = document.createElement("a");
      link.href = item.url;
      link.tabIndex = -1;
      link.textContent = item.price ? item.name + ", " + item.price : item.name;
      option.appendChild(link);
      list.appendChild(option);
    });
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", String(items.length > 0));
    active = -1;
  }

  async function ask(text) {
    if (pending) {
      pending.abort();
    }
    pending = new AbortController();
    try {
      const answer = await fetch("/search/suggest?q=" + encodeURIComponent(text), {
        signal: pending.signal,
        headers: { Accept: "application/json" },
      });
      const found = await answer.json();
      // A slower answer to an earlier word must not replace a newer one.
      if (found.query === input.value.trim()) {
        show(found.items);
      }
    } catch (error) {
      if (error.name !== "AbortError") {
        close();
      }
    }
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    const text = input.value.trim();
    if (!text) {
      close();
      return;
    }
    timer = window.setTimeout(() => ask(text), 150);
  });

  input.addEventListener("keydown", (event) => {
    const all = options();
    if (event.key === "ArrowDown" && all.length) {
      event.preventDefault();
      choose((active + 1) % all.length);
    } else if (event.key === "ArrowUp" && all.length) {
      event.preventDefault();
      choose(active <= 0 ? all.length - 1 : active - 1);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault();
      window.location.assign(all[active].querySelector("a").href);
    } else if (event.key === "Escape" && !list.hidden) {
      // The first Escape closes the list and keeps the words (a search box would
      // clear them); a second one clears them as usual.
      event.preventDefault();
      close();
    }
  });

  input.addEventListener("blur", () => {
    // Late enough for a click on a suggestion to land first.
    window.setTimeout(close, 200);
  });
})();
