// Tiny DOM helpers. Text from users only ever becomes text nodes or attribute values: no innerHTML.
import { t } from "./i18n.js";

/** h("button.primary", {onclick, "aria-label": "Buy"}, "Buy", child...) -> HTMLElement */
export function h(spec, attrs = {}, ...children) {
  const [head, ...classes] = spec.split(".");
  const [tag, id] = head.split("#");
  const el = document.createElement(tag || "div");
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(" ");
  if (attrs === null || typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className += (el.className ? " " : "") + value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "style" && typeof value === "object") Object.assign(el.style, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** A short-lived message in the page's toast region (role=status, so screen readers hear it). */
export function toast(text, kind = "info", ms = 4000) {
  let region = $("#toasts");
  if (!region) {
    region = h("div#toasts.toasts", { role: "status", "aria-live": "polite" });
    document.body.append(region);
  }
  const item = h("div.toast", { class: kind }, text);
  region.append(item);
  setTimeout(() => item.remove(), ms);
  return item;
}

/** Opens a <dialog> built by `build(close)`; resolves with what close() was given. */
export function modal(title, build) {
  return new Promise((resolve) => {
    const dialog = h("dialog.sheet", { "aria-label": title });
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(undefined);
    });
    fill(
      dialog,
      h("header.sheet-head", h("h2", title), h("button.icon", { type: "button", "aria-label": t("common.close"), onclick: () => close(undefined) }, "✕")),
      build(close),
    );
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** A labelled form field; returns the wrapper, the input is `.input` on it. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const wrap = h("div.field", h("label", { for: id }, label), input, hint ? h("small.hint", hint) : null);
  wrap.input = input;
  return wrap;
}

const ICONS = {
  eye: "M1 12s4-7 11-7 11 7 11 7-4 7-11 7S1 12 1 12zm11 3a3 3 0 1 0 0-6 3 3 0 0 0 0 6z",
  muted: "M4 9v6h4l5 4V5L8 9H4zm12.5 0 5 6m0-6-5 6",
  sound: "M4 9v6h4l5 4V5L8 9H4zm12 -1a5 5 0 0 1 0 8m2.5-10.5a8.5 8.5 0 0 1 0 13",
  check: "M5 12.5l4.5 4.5L19 7.5",
  bolt: "M13 2 4 14h7l-1 8 9-12h-7z",
};

/** A small stroke icon (SVG, so it renders without emoji fonts). */
export function icon(name) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon-svg");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", "currentColor");
  path.setAttribute("stroke-width", "2");
  path.setAttribute("stroke-linecap", "round");
  path.setAttribute("stroke-linejoin", "round");
  svg.append(path);
  return svg;
}
