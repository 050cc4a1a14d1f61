// The segment filter builder: condition rows in groups, written as JSON into the form's hidden
// "filter" input, with a live count of matching contacts (debounced). Native controls only, so
// it works by keyboard; no inline script or style (strict Content-Security-Policy).
(function () {
  "use strict";

  const NO_VALUE = new Set(["empty", "not_empty", "is_true", "is_false", "contactable", "not_contactable"]);
  const UNITS = ["days", "weeks", "months", "years"];
  const DEBOUNCE_MS = 400;

  function element(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (name === "text") node.textContent = value;
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
    });
    (children || []).forEach((child) => node.appendChild(child));
    return node;
  }

  function options(select, pairs, selected) {
    pairs.forEach(([value, label]) => {
      const option = element("option", { value: value, text: label });
      if (Array.isArray(selected) ? selected.map(String).includes(String(value)) : String(selected) === String(value)) {
        option.selected = true;
      }
      select.appendChild(option);
    });
    return select;
  }

  function setUp(root) {
    const input = document.getElementById("id_filter");
    const catalog = JSON.parse(document.getElementById("filter-catalog").textContent);
    const fields = new Map(catalog.map((field) => [field.key, field]));
    const words = root.dataset;
    const groupsBox = root.querySelector("[data-role=groups]");
    const body = root.querySelector("[data-role=body]");
    const dynamic = root.querySelector("[data-role=dynamic]");
    const outerJoin = root.querySelector("[data-role=join]");
    const countBox = root.querySelector("[data-role=count]");
    const csrf = input.form.querySelector("input[name=csrfmiddlewaretoken]").value;
    let state = parse(input.value);
    let timer = null;
    let latest = 0;
    let uid = 0;

    function parse(text) {
      try {
        const value = JSON.parse(text);
        if (value && Array.isArray(value.groups)) return value;
      } catch (error) { /* empty or not JSON: start afresh */ }
      return null;
    }

    function newCondition() {
      const field = catalog[0];
      return { field: field.key, op: field.operators[0].op };
    }

    function newGroup() {
      return { join: "and", conditions: [newCondition()] };
    }

    function write() {
      input.value = dynamic.checked && state ? JSON.stringify(state) : "";
      scheduleCount();
    }

    function scheduleCount() {
      clearTimeout(timer);
      if (!dynamic.checked || !state) {
        countBox.textContent = "";
        return;
      }
      countBox.textContent = words.counting;
      timer = setTimeout(count, DEBOUNCE_MS);
    }

    function count() {
      const asked = ++latest;
      const data = new URLSearchParams({ filter: input.value });
      fetch(root.dataset.countUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
        body: data,
        credentials: "same-origin",
      })
        .then((response) => response.json())
        .then((answer) => {
          if (asked !== latest) return; // an older answer arriving late
          countBox.textContent = answer.errors ? answer.errors.join(" ") : answer.text;
          countBox.classList.toggle("text-danger", Boolean(answer.errors));
        })
        .catch(() => {
          if (asked === latest) countBox.textContent = words.countFailed;
        });
    }

    function valueControls(condition, field, label) {
      const op = condition.op;
      const value = condition.value;
      const box = element("span", { class: "d-inline-flex flex-wrap gap-2 align-items-center" });
      // Conditions other apps register say which value each operator takes: none, choice or days.
      const takes = (field.operators.find((item) => item.op === op) || {}).value;
      if (NO_VALUE.has(op) || takes === "none") return box;
      const id = "filter-value-" + ++uid;
      const update = (newValue) => {
        condition.value = newValue;
        write();
      };
      const textInput = (type, current, labelText, onInput) => {
        const control = element("input", { type: type, class: "form-control form-control-sm w-auto", "aria-label": labelText });
        control.value = current === undefined || current === null ? "" : current;
        control.addEventListener("input", () => onInput(control.value));
        return control;
      };
      const asNumber = (text) => (text.trim() === "" ? text : Number(text));
      if (field.type === "channel") {
        const select = element("select", { id: id, class: "form-select form-select-sm w-auto", "aria-label": label });
        options(select, [["any", words.anyReason], ...field.choices], value || "any");
        if (!value) condition.value = "any";
        select.addEventListener("change", () => update(select.value));
        box.appendChild(select);
        return box;
      }
      if (takes === "days") {
        if (value === undefined) condition.value = 30;
        const days = textInput("number", condition.value, label, (text) => update(asNumber(text)));
        days.min = "1";
        box.append(days, element("span", { text: words.unit_days }));
        return box;
      }
      if (takes === "choice" || ["category", "segment", "choice"].includes(field.type)) {
        const multiple = op === "in";
        const select = element("select", {
          id: id, class: "form-select form-select-sm w-auto", "aria-label": label, multiple: multiple ? "multiple" : null,
        });
        options(select, field.choices, value === undefined ? (multiple ? [] : field.choices.length ? field.choices[0][0] : "") : value);
        const read = () => {
          const chosen = Array.from(select.selectedOptions).map((option) => option.value);
          const typed = field.type === "choice" ? chosen : chosen.map(Number);
          return multiple ? typed : typed[0];
        };
        if (value === undefined) condition.value = read();
        select.addEventListener("change", () => update(read()));
        box.appendChild(select);
        return box;
      }
      if (field.type === "date" && (op === "in_last" || op === "more_than_ago")) {
        const current = value && typeof value === "object" ? value : { amount: 30, unit: "days" };
        condition.value = current;
        const amount = textInput("number", current.amount, label, (text) => update({ amount: Number(text), unit: condition.value.unit }));
        amount.min = "1";
        const unit = element("select", { class: "form-select form-select-sm w-auto", "aria-label": words.unit });
        options(unit, UNITS.map((name) => [name, words["unit_" + name] || name]), current.unit);
        unit.addEventListener("change", () => update({ amount: condition.value.amount, unit: unit.value }));
        box.append(amount, unit);
        if (op === "more_than_ago") box.appendChild(element("span", { text: words.ago }));
        return box;
      }
      const kind = field.type === "date" ? "date" : field.type === "number" ? "number" : "text";
      const convert = kind === "number" ? asNumber : (text) => text;
      if (op === "between") {
        const pair = Array.isArray(value) ? value.slice() : ["", ""];
        condition.value = pair;
        const low = textInput(kind, pair[0], label + " — " + words.from, (text) => { pair[0] = convert(text); update(pair); });
        const high = textInput(kind, pair[1], label + " — " + words.to, (text) => { pair[1] = convert(text); update(pair); });
        box.append(low, element("span", { text: words.and }), high);
        return box;
      }
      if (op === "in") {
        const list = Array.isArray(value) ? value.join(", ") : "";
        const control = textInput("text", list, label + " — " + words.commaSeparated, (text) => {
          update(text.split(",").map((part) => part.trim()).filter(Boolean).map(convert));
        });
        control.placeholder = words.commaSeparated;
        box.appendChild(control);
        return box;
      }
      box.appendChild(textInput(kind, value, label, (text) => update(convert(text))));
      return box;
    }

    function conditionRow(group, condition, groupIndex, index) {
      const field = fields.get(condition.field) || catalog[0];
      const number = (groupIndex + 1) + "." + (index + 1);
      const row = element("div", { class: "d-flex flex-wrap gap-2 align-items-center mb-2", "data-role": "condition" });
      const fieldSelect = element("select", { class: "form-select form-select-sm w-auto", "aria-label": words.field + " " + number });
      options(fieldSelect, catalog.map((item) => [item.key, item.label]), field.key);
      fieldSelect.addEventListener("change", () => {
        const chosen = fields.get(fieldSelect.value);
        condition.field = chosen.key;
        condition.op = chosen.operators[0].op;
        delete condition.value;
        render(fieldSelect);
      });
      const opSelect = element("select", { class: "form-select form-select-sm w-auto", "aria-label": words.operator + " " + number });
      options(opSelect, field.operators.map((item) => [item.op, item.label]), condition.op);
      if (!field.operators.some((item) => item.op === condition.op)) condition.op = field.operators[0].op;
      opSelect.addEventListener("change", () => {
        condition.op = opSelect.value;
        delete condition.value;
        render(opSelect);
      });
      const remove = element("button", {
        type: "button", class: "btn btn-sm btn-outline-danger", "aria-label": words.removeCondition + " " + number, text: "×",
      });
      remove.addEventListener("click", () => {
        group.conditions.splice(index, 1);
        if (!group.conditions.length) state.groups.splice(groupIndex, 1);
        if (!state.groups.length) state.groups.push(newGroup());
        render(null, groupIndex);
      });
      row.append(fieldSelect, opSelect, valueControls(condition, field, words.value + " " + number), remove);
      return row;
    }

    function groupBox(group, groupIndex) {
      const box = element("fieldset", { class: "border rounded p-2 mb-2", "data-role": "group" });
      box.appendChild(element("legend", { class: "fs-6 mb-1", text: words.group + " " + (groupIndex + 1) }));
      const join = element("select", { class: "form-select form-select-sm w-auto mb-2", "aria-label": words.groupJoin + " " + (groupIndex + 1) });
      options(join, [["and", words.all], ["or", words.any]], group.join);
      join.addEventListener("change", () => { group.join = join.value; write(); });
      box.appendChild(join);
      group.conditions.forEach((condition, index) => box.appendChild(conditionRow(group, condition, groupIndex, index)));
      const add = element("button", { type: "button", class: "btn btn-sm btn-outline-secondary", "data-action": "add-condition", text: words.addCondition });
      add.addEventListener("click", () => {
        group.conditions.push(newCondition());
        render(null, groupIndex, group.conditions.length - 1);
      });
      box.appendChild(add);
      return box;
    }

    // Rebuilds the rows; focus goes back to the control that changed, or to the new row's field.
    function render(keepFocus, focusGroup, focusCondition) {
      const focusPath = keepFocus ? pathOf(keepFocus) : null;
      groupsBox.replaceChildren();
      if (state) {
        outerJoin.value = state.join || "and";
        state.groups.forEach((group, index) => groupsBox.appendChild(groupBox(group, index)));
      }
      if (focusPath) focusAt(focusPath);
      else if (focusGroup !== undefined) {
        const group = groupsBox.querySelectorAll("[data-role=group]")[Math.min(focusGroup, state.groups.length - 1)];
        const rows = group ? group.querySelectorAll("[data-role=condition]") : [];
        const row = rows[focusCondition === undefined ? rows.length - 1 : focusCondition] || rows[0];
        if (row) row.querySelector("select").focus();
      }
      write();
    }

    function pathOf(control) {
      const row = control.closest("[data-role=condition]");
      const group = control.closest("[data-role=group]");
      const groups = Array.from(groupsBox.querySelectorAll("[data-role=group]"));
      const rows = Array.from(group.querySelectorAll("[data-role=condition]"));
      return [groups.indexOf(group), rows.indexOf(row), Array.from(row.querySelectorAll("select, input")).indexOf(control)];
    }

    function focusAt([groupIndex, rowIndex, controlIndex]) {
      const group = groupsBox.querySelectorAll("[data-role=group]")[groupIndex];
      const row = group && group.querySelectorAll("[data-role=condition]")[rowIndex];
      const control = row && row.querySelectorAll("select, input")[controlIndex];
      if (control) control.focus();
    }

    root.querySelector("[data-action=add-group]").addEventListener("click", () => {
      state.groups.push(newGroup());
      render(null, state.groups.length - 1, 0);
    });
    outerJoin.addEventListener("change", () => { state.join = outerJoin.value; write(); });
    dynamic.addEventListener("change", () => {
      if (dynamic.checked && !state) state = { join: "and", groups: [newGroup()] };
      body.hidden = !dynamic.checked;
      render();
    });

    dynamic.checked = Boolean(state);
    body.hidden = !dynamic.checked;
    render();
  }

  // The segment page: while a rebuild is pending, ask for its progress every second.
  function followRebuild(status) {
    const poll = () => {
      fetch(status.dataset.statusUrl, { credentials: "same-origin" })
        .then((response) => response.json())
        .then((answer) => {
          status.textContent = answer.text.trim();
          if (answer.pending) setTimeout(poll, 1000);
        })
        .catch(() => setTimeout(poll, 5000));
    };
    setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.getElementById("filter-builder");
    if (root) setUp(root);
    const status = document.getElementById("rebuild-status");
    if (status && status.dataset.pending) followRebuild(status);
  });
})();
