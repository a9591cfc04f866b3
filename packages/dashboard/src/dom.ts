import { formatTime } from "./format.js";

/** The dashboard's DOM helpers: h() builds an element with text children (never HTML), byId(), time(). */

type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) if (value !== undefined) el.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

export const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export function time(iso: string | null): Node {
  if (iso === null) return h("span", { class: "muted" }, "—");
  return h("time", { datetime: iso, title: iso }, formatTime(iso));
}
