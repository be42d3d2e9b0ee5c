// Building elements without innerHTML: every text from the ledger goes in as text, never as markup.

const SVG = 'http://www.w3.org/2000/svg';

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Replaces node's children, skipping the missing ones (null, false) and flattening lists. */
export function fill(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

function build(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value);
    } else if (name === 'text') {
      node.textContent = value;
    } else if (name === 'dataset') {
      Object.assign(node.dataset, value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  return append(node, children);
}

/** An HTML element: h('p', { class: 'x' }, 'text', h('em', {}, 'more')). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, the same way. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

/** A safe link: only http(s) addresses become links; anything else stays text. */
export function link(url, text) {
  try {
    const u = new URL(url);
    if (u.protocol === 'http:' || u.protocol === 'https:') {
      return h('a', { href: u.href, rel: 'noopener noreferrer external', target: '_blank' }, text ?? u.href);
    }
  } catch {
    // Not a URL: shown as text below.
  }
  return h('span', {}, text ?? url);
}

/**
 * Puts an opaque box behind an SVG text already in the document, so it reads on whatever lines
 * pass beneath it (and contrast checkers see its real background).
 */
export function backdrop(text, className = 'backdrop') {
  const box = text.getBBox();
  // Whole units: the same drawing gives the same boxes whatever the window's size.
  const x = Math.floor(box.x) - 3;
  const y = Math.floor(box.y) - 1;
  const rect = s('rect', { x, y, width: Math.ceil(box.x + box.width) + 3 - x, height: Math.ceil(box.y + box.height) + 1 - y, rx: 3, class: className });
  text.before(rect);
  return rect;
}
