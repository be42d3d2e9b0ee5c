// An organization's neighbourhood as SVG: the organization in the middle, the organizations tied to
// it on a ring around it (strongest ties first, grouped by kind), a second hop on an outer ring beside
// the neighbour it comes through. The ties between the same two organizations are one bundle (one
// line, the strongest tie's colour and label, "+N" for the others). Labels are placed where they
// cover no organization and no other label, shortened when that helps, and otherwise shown only on
// hover or focus — so no label ever lies on another. The same answer always gives the same picture.
// Keyboard: one item is in the Tab order at a time; the arrow keys move, Enter or Space selects.

import { backdrop, s } from './dom.js';
import { capital, kindWord, shareLabel, statusWord } from './words.js';

const NODE_RADIUS = 16;
const CENTRE_RADIUS = 24;
const DRAWN = ['stake', 'control', 'acquisition', 'investment', 'board-seat', 'partnership'];
const KIND_ORDER = Object.fromEntries(DRAWN.map((k, i) => [k, i]));
const LONG = 24; // characters of a name a label shows at first; the whole name is in its title and aria-label
const SHORT = 20;

/** The lines to draw: every tie of a drawn kind between two organizations of the answer. */
export function linksOf(graph) {
  const drawn = new Set(graph.organizations.map((o) => o.id));
  const names = new Map(graph.organizations.map((o) => [o.id, o.name]));
  const links = [];
  for (const edge of graph.edges) {
    if (!DRAWN.includes(edge.type)) {
      continue;
    }
    const [from, ...others] = edge.organizations.filter((id) => drawn.has(id));
    for (const to of others) {
      links.push({ key: `${edge.fact}|${from}|${to}`, edge, from, to });
    }
  }
  const name = (id) => names.get(id) ?? id;
  return links.sort((a, b) => strength(a.edge, b.edge)
    || name(a.from).localeCompare(name(b.from), 'en') || name(a.to).localeCompare(name(b.to), 'en')
    || a.edge.fact.localeCompare(b.edge.fact, 'en'));
}

/** Stronger ties first: in force before uncertain, then by kind (stakes first), larger stakes first. */
function strength(a, b) {
  const status = (e) => (e.status === 'uncertain' ? 1 : 0);
  const size = (e) => e.share?.exact ?? e.share?.min ?? 0;
  return status(a) - status(b) || KIND_ORDER[a.type] - KIND_ORDER[b.type] || size(b) - size(a);
}

/** The ties between the same two organizations, as one bundle each (strongest tie first). */
export function bundlesOf(links) {
  const bundles = new Map();
  for (const l of links) {
    const pair = [l.from, l.to].sort().join('|');
    if (!bundles.has(pair)) {
      bundles.set(pair, { pair, links: [] });
    }
    bundles.get(pair).links.push(l);
  }
  for (const b of bundles.values()) {
    b.links.sort((x, y) => strength(x.edge, y.edge) || x.edge.fact.localeCompare(y.edge.fact, 'en'));
    b.lead = b.links[0];
    b.key = b.lead.key;
  }
  return [...bundles.values()];
}

/**
 * Positions by organization id: the organization asked about in the middle; its neighbours on a ring,
 * grouped by the kind of their strongest tie to it; the second hop on a wider ring, each beside the
 * neighbour it was reached through. The rings grow with the number of organizations on them.
 */
export function layout(graph, links) {
  const positions = new Map();
  const centre = graph.around;
  positions.set(centre, { x: 0, y: 0, angle: Math.PI / 2, hop: 0 });
  const kindTo = new Map();
  for (const l of links) {
    const other = l.from === centre ? l.to : l.to === centre ? l.from : null;
    if (other && !kindTo.has(other)) {
      kindTo.set(other, KIND_ORDER[l.edge.type]);
    }
  }
  const byName = (a, b) => a.name.localeCompare(b.name, 'en') || a.id.localeCompare(b.id);
  const first = graph.organizations.filter((o) => o.hop === 1)
    .sort((a, b) => (kindTo.get(a.id) ?? 99) - (kindTo.get(b.id) ?? 99) || byName(a, b));
  const r1 = Math.max(170, (first.length * 72) / (2 * Math.PI));
  // On a crowded ring every other organization steps outward, so neighbours' labels have room side by side.
  const stagger = first.length > 10 ? 1.22 : 1;
  first.forEach((o, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(first.length, 1);
    const r = i % 2 ? r1 * stagger : r1;
    positions.set(o.id, { x: r * Math.cos(angle), y: r * Math.sin(angle), angle, hop: 1 });
  });
  const index = new Map(first.map((o, i) => [o.id, i]));
  const second = graph.organizations.filter((o) => o.hop === 2)
    .sort((a, b) => (index.get(a.via) ?? 0) - (index.get(b.via) ?? 0) || byName(a, b));
  const r2 = Math.max(r1 * stagger + 170, (second.length * 60) / (2 * Math.PI));
  // Each one of the second hop as near its neighbour's angle as the ring allows: wanted angles, then
  // pushed apart to one slot each (forward, then back if the ring's end runs into its start).
  const slot = Math.min(60 / r2, (2 * Math.PI) / Math.max(second.length, 1));
  const wanted = [];
  for (const o of first) {
    const kids = second.filter((x) => x.via === o.id);
    const angle = positions.get(o.id).angle;
    kids.forEach((x, j) => wanted.push({ id: x.id, angle: angle + (j - (kids.length - 1) / 2) * slot }));
  }
  for (let k = 1; k < wanted.length; k++) {
    wanted[k].angle = Math.max(wanted[k].angle, wanted[k - 1].angle + slot);
  }
  const overflow = wanted.length ? wanted[wanted.length - 1].angle - (wanted[0].angle + 2 * Math.PI - slot) : 0;
  if (overflow > 0) {
    wanted.forEach((w) => { w.angle -= overflow; });
    for (let k = wanted.length - 2; k >= 0; k--) {
      wanted[k].angle = Math.min(wanted[k].angle, wanted[k + 1].angle - slot);
    }
  }
  for (const w of wanted) {
    positions.set(w.id, { x: r2 * Math.cos(w.angle), y: r2 * Math.sin(w.angle), angle: w.angle, hop: 2 });
  }
  return positions;
}

/**
 * A name as a label shows it: whole when short, else its first word and as many of the others as fit,
 * those with digits first, then from the end ("Government … of England", "Organization 1234 … AG"):
 * names of a kind often differ only there. Left-out words are an ellipsis.
 */
export function shorten(name, max) {
  if (name.length <= max) {
    return name;
  }
  const words = name.split(/\s+/);
  if (words[0].length + 2 > max) {
    return `${name.slice(0, max - 1).trimEnd()}…`;
  }
  const kept = new Set([0]);
  const text = () => words.map((w, i) => (kept.has(i) ? w : kept.has(i - 1) || i === 0 ? '…' : null))
    .filter((w) => w !== null).join(' ');
  const order = [...words.keys()].slice(1)
    .sort((a, b) => Number(/\d/.test(words[b])) - Number(/\d/.test(words[a])) || b - a);
  for (const i of order) {
    kept.add(i);
    if (text().length > max) {
      kept.delete(i);
    }
  }
  return text();
}

function linkLabel(edge) {
  const text = edge.type === 'stake' ? shareLabel(edge.share) : kindWord(edge.type);
  return edge.status === 'uncertain' ? `? ${text}` : text;
}

function linkWords(edge, name) {
  const [from, ...others] = edge.organizations;
  const ends = edge.directed ? `${name(from)} → ${others.map(name).join(', ')}` : [from, ...others].map(name).join(' and ');
  const since = edge.since ? `, since ${edge.startUnknown ? 'at least ' : ''}${edge.since.date}` : '';
  return `${linkLabel(edge)} — ${kindWord(edge.type)}, ${ends}: ${edge.summary}. ${capital(statusWord(edge.status))} on this date, ${edge.confidence ?? 'no confidence'}${since}.`;
}

/**
 * Draws the neighbourhood into container. options: selectedFact, selectedOrg, matches (Set of ids
 * the search text matches, marked; or null), onSelectEdge(edge, key), onSelectNode(id, key), focusKey (the item
 * to keep in the Tab order, e.g. the one focused before a refresh).
 */
export function renderGraph(container, graph, options) {
  const names = new Map(graph.organizations.map((o) => [o.id, o.name]));
  const name = (id) => names.get(id) ?? id;
  const links = linksOf(graph);
  const bundles = bundlesOf(links);
  const positions = layout(graph, links);
  const announcements = new Map();
  for (const e of graph.edges.filter((x) => !DRAWN.includes(x.type))) {
    for (const id of e.organizations) {
      announcements.set(id, (announcements.get(id) ?? 0) + 1);
    }
  }
  const ties = new Map();
  for (const l of links) {
    for (const id of [l.from, l.to]) {
      ties.set(id, (ties.get(id) ?? 0) + 1);
    }
  }
  const matches = options.matches;
  const radius = (id) => (id === graph.around ? CENTRE_RADIUS : NODE_RADIUS);

  const defs = s('defs', {}, DRAWN.map((kind) => s('marker', {
    id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 4.5, markerHeight: 4.5,
    orient: 'auto-start-reverse', markerUnits: 'strokeWidth',
  }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrow kind-${kind}` }))));

  const items = [];
  const labels = [];
  const linkGroup = s('g', { class: 'links' });
  for (const bundle of bundles) {
    const l = bundle.lead;
    const e = l.edge;
    const p1 = positions.get(l.from);
    const p2 = positions.get(l.to);
    if (!p1 || !p2) {
      continue;
    }
    // Ties along a ring bend outward a little, so they do not run over the organizations between them.
    const mid = { x: (p1.x + p2.x) / 2, y: (p1.y + p2.y) / 2 };
    const sameRing = positions.get(l.from).hop === positions.get(l.to).hop && positions.get(l.from).hop > 0;
    const control = sameRing ? { x: mid.x * 1.25, y: mid.y * 1.25 } : mid;
    const toward = (p, q, r) => {
      const d = Math.max(Math.hypot(q.x - p.x, q.y - p.y), 1);
      return { x: p.x + ((q.x - p.x) / d) * r, y: p.y + ((q.y - p.y) / d) * r };
    };
    const start = toward(p1, sameRing ? control : p2, radius(l.from) + 2);
    const end = toward(p2, sameRing ? control : p1, radius(l.to) + (e.directed ? 4 : 2));
    const d = `M${start.x.toFixed(1)},${start.y.toFixed(1)} Q${control.x.toFixed(1)},${control.y.toFixed(1)} ${end.x.toFixed(1)},${end.y.toFixed(1)}`;
    const more = bundle.links.length - 1;
    const selected = bundle.links.some((x) => x.edge.fact === options.selectedFact);
    const words = [linkWords(e, name), ...bundle.links.slice(1).map((x) => linkWords(x.edge, name))];
    // Compared with another moment or date: new (any tie of the bundle) or changed, in the label and its words.
    const mark = options.mark?.(bundle.links) ?? null;
    // The name begins with the label as seen, its mark included ("… +2 · new — …").
    const seen = `${linkLabel(e)}${more ? ` +${more}` : ''}${mark ? ` · ${mark.word}` : ''}`;
    const marked = mark ? ` (${mark.word} compared with ${mark.than})` : '';
    const g = s('g', {
      class: `link kind-${e.type} conf-${e.confidence ?? 'none'} status-${e.status}${selected ? ' selected' : ''}${more ? ' bundle' : ''}${mark ? ` cmp-${mark.kind}` : ''}`,
      tabindex: -1, role: 'button',
      // The label's own words first: what is seen is what a voice or a screen reader names it by.
      'aria-label': (more ? `${seen} — ${bundle.links.length} ties between ${name(l.from)} and ${name(l.to)}: ${words.join(' ')}`
        : mark ? `${seen} — ${words[0].slice(linkLabel(e).length + 3)}` : words[0]) + marked,
      'aria-current': selected ? 'true' : null,
      dataset: { key: l.key, fact: e.fact, facts: bundle.links.map((x) => x.edge.fact).join(' '), from: l.from, to: l.to, type: e.type, ties: String(bundle.links.length) },
    },
    s('title', { text: bundle.links.map((x) => x.edge.summary).join('\n') }),
    s('path', { d, class: 'hit' }),
    more ? s('path', { d, class: 'line bundle-halo' }) : null,
    s('path', { d, class: `line kind-${e.type}`, 'marker-end': e.directed ? `url(#arrow-${e.type})` : null }),
    s('text', { class: 'edge-label', 'text-anchor': 'middle', text: linkLabel(e) },
      more ? s('tspan', { class: 'bundle-more', text: ` +${more}` }) : null,
      mark ? s('tspan', { class: 'cmp-mark', text: ` · ${mark.word}` }) : null));
    // A bundle opens its strongest tie; the answer then lists the others between the same two.
    g.addEventListener('click', () => options.onSelectEdge(e, l.key));
    labels.push({ kind: 'edge', text: g.querySelector('.edge-label'), curve: [start, control, end], priority: e.type === 'stake' ? 1 : 3 });
    linkGroup.append(g);
    items.push(g);
  }

  const nodeGroup = s('g', { class: 'nodes' });
  const badges = s('g', { class: 'badges' });
  const ordered = [...graph.organizations].filter((o) => positions.has(o.id))
    .sort((a, b) => (a.hop ?? 0) - (b.hop ?? 0) || a.name.localeCompare(b.name, 'en'));
  for (const o of ordered) {
    const p = positions.get(o.id);
    const count = ties.get(o.id) ?? 0;
    const said = announcements.get(o.id) ?? 0;
    const selected = o.id === options.selectedOrg;
    const centre = o.id === graph.around;
    const where = centre ? 'the organization this view is around' : o.hop === 2 ? `second hop, through ${name(o.via)}` : 'tied to it';
    const words = `${o.name} (${o.kind}${o.country ? `, ${o.country}` : ''}; ${where}): ${count} ${count === 1 ? 'tie' : 'ties'} drawn`
      + (said ? `, ${said} ${said === 1 ? 'announcement' : 'announcements'}` : '') + '.';
    const g = s('g', {
      class: `node kind-${o.kind} hop-${o.hop ?? 0}${centre ? ' centre' : ''}${selected ? ' selected' : ''}${matches?.has(o.id) ? ' match' : ''}`,
      transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`, tabindex: -1, role: 'button', 'aria-label': words,
      'aria-current': selected ? 'true' : null, dataset: { key: `org|${o.id}`, org: o.id, hop: String(o.hop ?? 0) },
    },
    s('title', { text: `${o.name}${o.aliases.length ? ` (also ${o.aliases.join(', ')})` : ''}` }),
    shape(o.kind, radius(o.id)),
    s('text', { class: 'node-label', 'text-anchor': 'middle', text: shorten(o.name, LONG), dataset: { name: o.name } }));
    g.addEventListener('click', () => options.onSelectNode(o.id, `org|${o.id}`));
    nodeGroup.append(g);
    items.push(g);
    labels.push({ kind: 'node', text: g.querySelector('.node-label'), node: p, r: radius(o.id), name: o.name, priority: centre ? 0 : o.hop === 1 ? 2 : 4 });
    if (said) {
      // Beside the node, not in it: the node's accessible name stays its name.
      badges.append(s('g', { class: 'badge', transform: `translate(${(p.x + radius(o.id) - 2).toFixed(1)},${(p.y - radius(o.id) + 2).toFixed(1)})`, 'aria-hidden': 'true' },
        s('circle', { r: 8 }), s('text', { 'text-anchor': 'middle', y: 4, text: String(said) })));
    }
  }

  const content = s('g', { class: 'content' }, linkGroup, nodeGroup, badges);
  const svg = s('svg', {
    class: 'graph-svg', role: 'group', id: 'graph-svg',
    'aria-label': `${name(graph.around)} and ${graph.organizations.length - 1} organizations around it on ${graph.at}, ${bundles.length} lines for ${links.length} ties. Arrow keys move between them, Enter selects.`,
  }, defs, content);

  // Roving focus: exactly one item can be reached with Tab.
  const keep = items.find((i) => i.dataset.key === options.focusKey)
    ?? items.find((i) => i.getAttribute('aria-current') === 'true') ?? items[0];
  if (keep) {
    keep.tabIndex = 0;
  }
  svg.addEventListener('keydown', (event) => {
    const at = items.indexOf(event.target.closest('.link, .node'));
    if (at < 0) {
      return;
    }
    const move = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    let next = null;
    if (move) {
      next = items[(at + move + items.length) % items.length];
    } else if (event.key === 'Home') {
      next = items[0];
    } else if (event.key === 'End') {
      next = items[items.length - 1];
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      items[at].dispatchEvent(new MouseEvent('click', { bubbles: true }));
      return;
    }
    if (next) {
      event.preventDefault();
      items[at].tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  });
  container.replaceChildren(svg);
  placeLabels(svg, labels, positions);
  // The drawing's own extent, whatever the rings' sizes: hidden labels do not count (display: none).
  const box = content.getBBox();
  const pad = 12;
  svg.setAttribute('viewBox', `${Math.floor(box.x - pad)} ${Math.floor(box.y - pad)} ${Math.ceil(box.width + 2 * pad)} ${Math.ceil(box.height + 2 * pad)}`);
  svg.style.maxHeight = `${Math.max(420, Math.min(900, Math.ceil(box.height + 2 * pad)))}px`;
  return {
    links,
    bundles,
    focus(key) {
      const item = items.find((i) => i.dataset.key === key);
      if (item) {
        items.forEach((i) => { i.tabIndex = -1; });
        item.tabIndex = 0;
        item.focus();
      }
      return Boolean(item);
    },
  };
}

/** The point at t of a quadratic curve. */
function at(p0, p1, p2, t) {
  const u = 1 - t;
  return { x: u * u * p0.x + 2 * u * t * p1.x + t * t * p2.x, y: u * u * p0.y + 2 * u * t * p1.y + t * t * p2.y };
}

function overlaps(a, b) {
  return Math.min(a.x + a.width, b.x + b.width) > Math.max(a.x, b.x) && Math.min(a.y + a.height, b.y + b.height) > Math.max(a.y, b.y);
}

/** A text's box in the drawing's coordinates, with the room its backdrop takes (dom.js backdrop). */
function boxOf(text, offset) {
  const b = text.getBBox();
  return { x: offset.x + Math.floor(b.x) - 4, y: offset.y + Math.floor(b.y) - 2, width: Math.ceil(b.width) + 8, height: Math.ceil(b.height) + 4 };
}

/** Where a node's label may go, best first: away from the centre, then below, above, right, left. */
function nodeSpots(label) {
  const { r, node } = label;
  const gap = r + 5;
  const spots = [];
  if (node.hop > 0) {
    const c = Math.cos(node.angle);
    const sn = Math.sin(node.angle);
    const anchor = c > 0.35 ? 'start' : c < -0.35 ? 'end' : 'middle';
    const dy = sn > 0.35 ? 12 : sn < -0.35 ? -4 : 4;
    spots.push({ x: c * gap, y: sn * gap + dy, anchor });
  }
  spots.push({ x: 0, y: gap + 11, anchor: 'middle' }, { x: 0, y: -gap - 4, anchor: 'middle' },
    { x: gap, y: 4, anchor: 'start' }, { x: -gap, y: 4, anchor: 'end' });
  return spots;
}

/**
 * Places every label where it covers no organization and no label placed before it (the organization
 * in the middle first, then stakes, neighbours, other ties, the second hop): each tries its spots with
 * its name as long as it may be, then shortened; a label that fits nowhere is hidden and shown only
 * while its organization or tie has the pointer or the focus. Every label shown gets an opaque backdrop.
 */
function placeLabels(svg, labels, positions) {
  const taken = [];
  for (const g of svg.querySelectorAll('.node')) {
    const p = positions.get(g.dataset.org);
    const b = g.querySelector('.dot').getBBox();
    taken.push({ x: p.x + b.x - 2, y: p.y + b.y - 2, width: b.width + 4, height: b.height + 4 });
  }
  const fits = (box) => !taken.some((t) => overlaps(box, t));
  for (const label of [...labels].sort((a, b) => a.priority - b.priority)) {
    const text = label.text;
    let placed = null;
    if (label.kind === 'node') {
      const offset = label.node;
      for (const words of [shorten(label.name, LONG), shorten(label.name, SHORT)]) {
        text.textContent = words;
        for (const spot of nodeSpots(label)) {
          text.setAttribute('x', spot.x.toFixed(1));
          text.setAttribute('y', spot.y.toFixed(1));
          text.setAttribute('text-anchor', spot.anchor);
          const box = boxOf(text, offset);
          if (fits(box)) {
            placed = box;
            break;
          }
        }
        if (placed) {
          break;
        }
      }
    } else {
      for (const t of [0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75]) {
        const p = at(...label.curve, t);
        text.setAttribute('x', p.x.toFixed(1));
        text.setAttribute('y', (p.y + 4).toFixed(1));
        const box = boxOf(text, { x: 0, y: 0 });
        if (fits(box)) {
          placed = box;
          break;
        }
      }
    }
    if (placed) {
      taken.push(placed);
      backdrop(text, 'label-bg');
      if (label.kind === 'node' && text.textContent !== label.name) {
        // A shortened name is named as it is seen, then in full.
        const g = text.closest('.node');
        g.setAttribute('aria-label', `${text.textContent} — ${g.getAttribute('aria-label')}`);
      }
      continue;
    }
    // Fits nowhere: shown whole, at its first spot, only while its item has the pointer or the focus (page.css).
    if (label.kind === 'node') {
      const [spot] = nodeSpots(label);
      text.textContent = shorten(label.name, LONG);
      text.setAttribute('x', spot.x.toFixed(1));
      text.setAttribute('y', spot.y.toFixed(1));
      text.setAttribute('text-anchor', spot.anchor);
    } else {
      const p = at(...label.curve, 0.5);
      text.setAttribute('x', p.x.toFixed(1));
      text.setAttribute('y', (p.y + 4).toFixed(1));
    }
    const rect = backdrop(text, 'label-bg');
    text.classList.add('label-hidden');
    rect.classList.add('label-hidden');
  }
}

/** Companies and persons are circles, governments and public bodies squares, funds diamonds. */
function shape(kind, r) {
  if (kind === 'government' || kind === 'public-body') {
    return s('rect', { x: -r + 2, y: -r + 2, width: 2 * r - 4, height: 2 * r - 4, rx: 5, class: 'dot' });
  }
  if (kind === 'fund') {
    return s('path', { d: `M0,${-r} L${r},0 L0,${r} L${-r},0 z`, class: 'dot' });
  }
  return s('circle', { r: kind === 'person' ? r - 4 : r, class: 'dot' });
}
