// Staff UI behaviour: the <dialog> modal fetched by htmx, its focus trap, and toasts.
// No inline scripts anywhere, so a strict Content-Security-Policy can be turned on.
(function () {
  "use strict";

  const FOCUSABLE = [
    "a[href]", "button:not([disabled])", "input:not([disabled]):not([type=hidden])",
    "select:not([disabled])", "textarea:not([disabled])", "[tabindex]:not([tabindex='-1'])",
  ].join(",");

  let opener = null;

  function modal() {
    return document.getElementById("staff-modal");
  }

  function visibleFocusables(container) {
    return Array.from(container.querySelectorAll(FOCUSABLE)).filter(
      (el) => el.offsetParent !== null || el === document.activeElement
    );
  }

  function focusInitial(dialog) {
    const invalid = dialog.querySelector(".tab-pane.active .is-invalid, .tab-pane.active .invalid-feedback");
    if (invalid) {
      const field = invalid.matches("input, select, textarea")
        ? invalid
        : invalid.closest("div").querySelector("input, select, textarea");
      (field || invalid).focus();
      return;
    }
    const tab = dialog.querySelector("[role=tab].active") || visibleFocusables(dialog)[0];
    if (tab) tab.focus();
  }

  function showToast(text, level) {
    const template = document.getElementById("toast-template");
    const container = document.getElementById("toasts");
    if (!template || !container) return;
    const toast = template.content.firstElementChild.cloneNode(true);
    toast.classList.add("text-bg-" + (level === "error" ? "danger" : level || "success"));
    toast.querySelector(".toast-body").textContent = text;
    container.appendChild(toast);
    window.bootstrap.Toast.getOrCreateInstance(toast).show();
    toast.addEventListener("hidden.bs.toast", () => toast.remove());
  }

  // WAI-ARIA tabs: arrow keys move to the previous/next tab (wrapping), Home/End to the first/last,
  // and the tab that gets focus is shown. Delegated from the document in the capture phase, so it
  // works from the first open of content that htmx swapped in, and Bootstrap's own per-tab handler
  // (attached only after a first click) never moves focus a second time.
  const TAB_KEYS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"];

  function tabKeydown(event) {
    const tab = event.target.closest && event.target.closest("[role=tab]");
    if (!tab || !TAB_KEYS.includes(event.key)) return;
    const list = tab.closest("[role=tablist]");
    if (!list) return;
    const tabs = Array.from(list.querySelectorAll("[role=tab]")).filter((el) => !el.disabled);
    const index = tabs.indexOf(tab);
    let next;
    if (event.key === "Home") next = tabs[0];
    else if (event.key === "End") next = tabs[tabs.length - 1];
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") next = tabs[(index - 1 + tabs.length) % tabs.length];
    else next = tabs[(index + 1) % tabs.length];
    event.preventDefault();
    event.stopPropagation();
    tabShow(next);
    next.focus();
  }

  function tabShow(tab) {
    window.bootstrap.Tab.getOrCreateInstance(tab).show();
    tabRove(tab);
  }

  // Only the selected tab is in the Tab order (roving tabindex), however it was selected.
  function tabRove(tab) {
    tab.closest("[role=tablist]").querySelectorAll("[role=tab]").forEach((el) => {
      el.setAttribute("tabindex", el === tab ? "0" : "-1");
    });
  }

  document.addEventListener("keydown", tabKeydown, true);
  document.addEventListener("shown.bs.tab", function (event) {
    tabRove(event.target);
  });

  // Message editor: versions are ordered on the page (Move up / Move down) and the hidden position
  // inputs follow; each HTML body is previewed as it is typed in a sandboxed frame (no script runs).
  function versionsRenumber(container) {
    container.querySelectorAll("[data-version]").forEach((card, index) => {
      const position = card.querySelector("[data-version-position]");
      if (position) position.value = String(index);
      const label = card.querySelector("[data-version-label]");
      if (label) label.textContent = label.textContent.replace(/\d+/, String(index + 1));
    });
  }

  function htmlPreview(textarea) {
    const frame = textarea.closest("[data-version]")?.querySelector("[data-html-preview-frame]");
    if (frame) frame.srcdoc = textarea.value;
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-version-up], [data-version-down]");
    if (!button) return;
    const card = button.closest("[data-version]");
    const container = card.closest("[data-versions]");
    if (button.matches("[data-version-up]") && card.previousElementSibling) {
      container.insertBefore(card, card.previousElementSibling);
    } else if (button.matches("[data-version-down]") && card.nextElementSibling) {
      container.insertBefore(card.nextElementSibling, card);
    }
    versionsRenumber(container);
    button.focus();
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-html-preview]")) htmlPreview(event.target);
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.documentElement.classList.add("js");
    document.querySelectorAll("[data-versions]").forEach(versionsRenumber);
    document.querySelectorAll("[data-html-preview]").forEach(htmlPreview);
    document.querySelectorAll(".toast[data-autoshow]").forEach((toast) => {
      window.bootstrap.Toast.getOrCreateInstance(toast).show();
    });

    const dialog = modal();
    if (!dialog) return;

    // Remember what opened the modal, to give it focus back when the modal closes.
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (event.detail.elt.matches("[data-opens-modal]")) opener = event.detail.elt;
    });

    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target.id !== "staff-modal-content") return;
      if (!dialog.open) {
        dialog.showModal();
        dialog.dataset.opened = "true";
      }
      focusInitial(dialog);
    });

    document.body.addEventListener("modalClose", function () {
      if (dialog.open) dialog.close();
    });

    document.body.addEventListener("staffMessage", function (event) {
      showToast(event.detail.text, event.detail.level);
    });

    document.body.addEventListener("htmx:responseError", function (event) {
      const status = event.detail.xhr.status;
      showToast(
        status === 403 ? "Your account may not do this." : "Something went wrong (" + status + "). Nothing was saved.",
        "error"
      );
    });

    dialog.addEventListener("close", function () {
      delete dialog.dataset.opened;
      // Emptied on the next tick: htmx may still be finishing with the form that closed it.
      window.setTimeout(function () {
        if (!dialog.open) document.getElementById("staff-modal-content").replaceChildren();
      }, 0);
      const target = opener && document.body.contains(opener) ? opener.closest(".dropdown")?.querySelector("[data-bs-toggle=dropdown]") || opener : null;
      if (target) target.focus();
    });

    // Focus trap: Tab and Shift+Tab cycle inside the modal. Escape closes it natively (dialog "cancel").
    dialog.addEventListener("keydown", function (event) {
      if (event.key !== "Tab") return;
      const items = visibleFocusables(dialog);
      if (!items.length) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && document.activeElement === last) {
        event.preventDefault();
        first.focus();
      }
    });

    document.addEventListener("click", function (event) {
      const closer = event.target.closest("[data-modal-close]");
      if (!closer) return;
      if (dialog.contains(closer)) {
        dialog.close();
      } else {
        const form = closer.closest("form[data-cancel-url]");
        if (form) window.location.assign(form.dataset.cancelUrl);
      }
    });
  });
})();
