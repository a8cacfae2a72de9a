// Small helpers shared by the console's parts: building elements from server data without
// innerHTML (so no text from a declaration can become markup), and wording for people.

export const $ = (id) => document.getElementById(id);

/** An element with attributes (`class`, `aria-*`, properties starting with `on`) and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return element;
}

/** `physical_inspection_ordered` → `physical inspection ordered`. */
export const words = (code) => String(code ?? "").replaceAll("_", " ");

export const percent = (share) => `${Math.round(share * 100)} %`;

export function tonnes(kg) {
  return kg >= 1000 ? `${(kg / 1000).toFixed(1)} t` : `${Math.round(kg)} kg`;
}

const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hour12: false });
const stamp = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
});

/** A time of day for claims that last minutes. */
export const timeOfDay = (iso) => clock.format(new Date(iso));
/** A full local date and time for the record. */
export const dateTime = (iso) => stamp.format(new Date(iso));

/** How long ago, in the coarsest unit that still says something: "40 s", "12 min", "3 h", "2 d". */
export function age(iso, now = Date.now()) {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

/** Calls `run` once calls have stopped for `ms`. */
export function debounce(run, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => run(...args), ms);
  };
}
