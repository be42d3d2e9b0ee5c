// The relationship graph as SVG: organizations as nodes, ties as lines by kind, confidence and
// status, laid out by a small deterministic force layout (the same graph always gives the same
// picture, so a shared address reopens the same view). Keyboard: one item is in the Tab order at a
// time; the arrow keys move between ties and organizations, Enter or Space selects.

import { backdrop, s } from './dom.js';
import { capital, kindWord, shareLabel, statusWord } from './words.js';

export const WIDTH = 960;
export const HEIGHT = 600;
const NODE_RADIUS = 20;
const STRIP = 96; // room at the bottom for organizations with no tie on the date
const DRAWN = ['stake', 'investment', 'partnership', 'board-seat', 'acquisition'];
const KIND_ORDER = Object.fromEntries(DRAWN.map((k, i) => [k, i]));

/** The lines to draw: every tie between two or more organizations (from the first to each other one). */
export function linksOf(graph) {
  const names = new Map(graph.organizations.map((o) => [o.id, o.name]));
  const links = [];
  for (const edge of graph.edges) {
    if (!DRAWN.includes(edge.type) || edge.organizations.length < 2) {
      continue;
    }
    const [from, ...others] = edge.organizations;
    for (const to of others) {
      links.push({ key: `${edge.fact}|${from}|${to}`, edge, from, to });
    }
  }
  const name = (id) => names.get(id) ?? id;
  return links.sort((a, b) => KIND_ORDER[a.edge.type] - KIND_ORDER[b.edge.type]
    || name(a.from).localeCompare(name(b.from), 'en') || name(a.to).localeCompare(name(b.to), 'en')
    || a.edge.fact.localeCompare(b.edge.fact, 'en'));
}

/**
 * Positions by organization id: each group of tied organizations laid out by force in a column of
 * its own (wider for bigger groups), the organizations with no tie in a row at the bottom.
 */
export function layout(organizations, links) {
  const neighbours = new Map();
  for (const l of links) {
    neighbours.set(l.from, new Set([...(neighbours.get(l.from) ?? []), l.to]));
    neighbours.set(l.to, new Set([...(neighbours.get(l.to) ?? []), l.from]));
  }
  const isolated = organizations.filter((o) => !neighbours.has(o.id)).sort((a, b) => a.name.localeCompare(b.name, 'en'));
  const height = HEIGHT - (isolated.length ? STRIP : 0);
  const positions = new Map();

  const groups = [];
  const seen = new Set();
  for (const id of [...neighbours.keys()].sort()) {
    if (seen.has(id)) {
      continue;
    }
    const group = [];
    const queue = [id];
    seen.add(id);
    while (queue.length) {
      const next = queue.shift();
      group.push(next);
      for (const other of [...neighbours.get(next)].sort()) {
        if (!seen.has(other)) {
          seen.add(other);
          queue.push(other);
        }
      }
    }
    groups.push(group.sort());
  }
  groups.sort((a, b) => b.length - a.length || a[0].localeCompare(b[0]));
  const weight = (g) => Math.sqrt(g.length);
  const total = groups.reduce((sum, g) => sum + weight(g), 0);
  let left = 0;
  for (const group of groups) {
    const width = (WIDTH * weight(group)) / total;
    place(group, links, positions, { left, width, height });
    left += width;
  }
  isolated.forEach((o, i) => positions.set(o.id, {
    x: ((i + 0.5) * WIDTH) / isolated.length,
    y: HEIGHT - STRIP / 2 - 8,
    isolated: true,
  }));
  return positions;
}

/** Fruchterman–Reingold from a circle, a fixed number of rounds: the same group always lands the same way. */
function place(ids, links, positions, box) {
  const n = ids.length;
  const index = new Map(ids.map((id, i) => [id, i]));
  const pairs = [...new Set(links.filter((l) => index.has(l.from))
    .map((l) => [index.get(l.from), index.get(l.to)].sort((a, b) => a - b).join(',')))]
    .map((p) => p.split(',').map(Number));
  const cx = box.width / 2;
  const cy = box.height / 2;
  const k = Math.sqrt((box.width * box.height) / n) * 0.9;
  const x = ids.map((_, i) => cx + (box.width / 3) * Math.cos((2 * Math.PI * i) / n - Math.PI / 2));
  const y = ids.map((_, i) => cy + (box.height / 3) * Math.sin((2 * Math.PI * i) / n - Math.PI / 2));
  const rounds = 400;
  for (let round = 0; round < rounds; round++) {
    const heat = (box.width / 10) * (1 - round / rounds) + 0.5;
    const dx = new Array(n).fill(0);
    const dy = new Array(n).fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const ex = x[i] - x[j];
        const ey = y[i] - y[j];
        const d = Math.max(Math.hypot(ex, ey), 0.01);
        const push = (k * k) / d;
        dx[i] += (ex / d) * push;
        dy[i] += (ey / d) * push;
        dx[j] -= (ex / d) * push;
        dy[j] -= (ey / d) * push;
      }
    }
    for (const [i, j] of pairs) {
      const ex = x[i] - x[j];
      const ey = y[i] - y[j];
      const d = Math.max(Math.hypot(ex, ey), 0.01);
      const pull = (d * d) / k;
      dx[i] -= (ex / d) * pull;
      dy[i] -= (ey / d) * pull;
      dx[j] += (ex / d) * pull;
      dy[j] += (ey / d) * pull;
    }
    for (let i = 0; i < n; i++) {
      dx[i] += (cx - x[i]) * 0.03;
      dy[i] += (cy - y[i]) * 0.03;
      const d = Math.max(Math.hypot(dx[i], dy[i]), 0.01);
      x[i] += (dx[i] / d) * Math.min(d, heat);
      y[i] += (dy[i] / d) * Math.min(d, heat);
    }
  }
  // Fit into the box, leaving room for labels; each axis fills its room, but neither is
  // stretched to more than 1.6 times the other.
  const margin = { x: Math.min(110, box.width / 4), top: 50, bottom: 70 };
  const [minX, maxX, minY, maxY] = [Math.min(...x), Math.max(...x), Math.min(...y), Math.max(...y)];
  const scaleX = maxX > minX ? (box.width - 2 * margin.x) / (maxX - minX) : 1;
  const scaleY = maxY > minY ? (box.height - margin.top - margin.bottom) / (maxY - minY) : 1;
  const sx = Math.min(scaleX, scaleY * 1.6, 3);
  const sy = Math.min(scaleY, scaleX * 1.6, 3);
  const offX = box.left + (box.width - (maxX - minX) * sx) / 2;
  const offY = margin.top + (box.height - margin.top - margin.bottom - (maxY - minY) * sy) / 2;
  ids.forEach((id, i) => positions.set(id, { x: offX + (x[i] - minX) * sx, y: offY + (y[i] - minY) * sy }));
}

/** Up to three lines of about 18 characters, for a node's name. */
function nameLines(name) {
  const words = name.split(/\s+/);
  const lines = [''];
  for (const w of words) {
    const line = lines[lines.length - 1];
    if (line && (line + ' ' + w).length > 18) {
      lines.push(w);
    } else {
      lines[lines.length - 1] = line ? `${line} ${w}` : w;
    }
  }
  if (lines.length > 3) {
    lines.length = 3;
    lines[2] += '…';
  }
  return lines;
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
 * Draws the graph into container. options: selectedFact, selectedOrg, matches (Set of ids, or
 * null when not searching), onSelectEdge(edge, key), onSelectNode(id, key), focusKey (the item to
 * keep in the Tab order, e.g. the one focused before a refresh).
 */
export function renderGraph(container, graph, options) {
  const names = new Map(graph.organizations.map((o) => [o.id, o.name]));
  const name = (id) => names.get(id) ?? id;
  const links = linksOf(graph);
  const positions = layout(graph.organizations, links);
  const announcements = new Map();
  for (const e of graph.edges.filter((e) => !DRAWN.includes(e.type))) {
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

  const defs = s('defs', {}, DRAWN.map((kind) => s('marker', {
    id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 4.5, markerHeight: 4.5,
    orient: 'auto-start-reverse', markerUnits: 'strokeWidth',
  }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: `arrow kind-${kind}` }))));

  // Parallel ties between the same two organizations bend apart, each by its own offset.
  const byPair = new Map();
  for (const l of links) {
    const pair = [l.from, l.to].sort().join('|');
    byPair.set(pair, [...(byPair.get(pair) ?? []), l]);
  }
  const items = [];
  const labels = [];
  const linkGroup = s('g', { class: 'links' });
  for (const [pair, group] of byPair) {
    const [a, b] = pair.split('|');
    const pa = positions.get(a);
    const pb = positions.get(b);
    if (!pa || !pb) {
      continue;
    }
    const length = Math.max(Math.hypot(pb.x - pa.x, pb.y - pa.y), 1);
    const normal = { x: -(pb.y - pa.y) / length, y: (pb.x - pa.x) / length };
    group.forEach((l, i) => {
      const bend = (i - (group.length - 1) / 2) * 34;
      const p1 = positions.get(l.from);
      const p2 = positions.get(l.to);
      const mid = { x: (p1.x + p2.x) / 2, y: (p1.y + p2.y) / 2 };
      const control = { x: mid.x + normal.x * bend * 2, y: mid.y + normal.y * bend * 2 };
      const toward = (p, q, r) => {
        const d = Math.max(Math.hypot(q.x - p.x, q.y - p.y), 1);
        return { x: p.x + ((q.x - p.x) / d) * r, y: p.y + ((q.y - p.y) / d) * r };
      };
      const start = toward(p1, control, NODE_RADIUS + 2);
      const end = toward(p2, control, NODE_RADIUS + (l.edge.directed ? 4 : 2));
      const d = `M${start.x.toFixed(1)},${start.y.toFixed(1)} Q${control.x.toFixed(1)},${control.y.toFixed(1)} ${end.x.toFixed(1)},${end.y.toFixed(1)}`;
      const label = at(start, control, end, 0.5);
      const e = l.edge;
      const dim = matches && !matches.has(l.from) && !matches.has(l.to);
      const selected = e.fact === options.selectedFact;
      const g = s('g', {
        class: `link kind-${e.type} conf-${e.confidence ?? 'none'} status-${e.status}${selected ? ' selected' : ''}${dim ? ' dim' : ''}`,
        tabindex: -1, role: 'button', 'aria-label': linkWords(e, name), 'aria-current': selected ? 'true' : null,
        dataset: { key: l.key, fact: e.fact, from: l.from, to: l.to, type: e.type },
      },
      s('title', { text: e.summary }),
      s('path', { d, class: 'hit' }),
      s('path', { d, class: `line kind-${e.type}`, 'marker-end': e.directed ? `url(#arrow-${e.type})` : null }),
      s('text', { x: label.x.toFixed(1), y: (label.y + 4).toFixed(1), class: 'edge-label', 'text-anchor': 'middle', text: linkLabel(e) }));
      g.addEventListener('click', () => options.onSelectEdge(e, l.key));
      labels.push({ text: g.lastChild, curve: [start, control, end], priority: e.type === 'stake' ? 0 : e.status === 'uncertain' ? 2 : 1 });
      linkGroup.append(g);
      items.push(g);
    });
  }

  const nodeGroup = s('g', { class: 'nodes' });
  const badges = s('g', { class: 'badges' });
  const sorted = [...graph.organizations].sort((a, b) => a.name.localeCompare(b.name, 'en'));
  for (const o of sorted) {
    const p = positions.get(o.id);
    const count = ties.get(o.id) ?? 0;
    const said = announcements.get(o.id) ?? 0;
    const selected = o.id === options.selectedOrg;
    const dim = matches && !matches.has(o.id);
    const lines = nameLines(o.name);
    const words = `${o.name} (${o.kind}${o.country ? `, ${o.country}` : ''}): ${count} ${count === 1 ? 'tie' : 'ties'} on this date`
      + (said ? `, ${said} ${said === 1 ? 'announcement' : 'announcements'}` : '') + '.';
    const g = s('g', {
      class: `node kind-${o.kind}${selected ? ' selected' : ''}${dim ? ' dim' : ''}${matches?.has(o.id) ? ' match' : ''}${p.isolated ? ' isolated' : ''}`,
      transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`, tabindex: -1, role: 'button', 'aria-label': words,
      'aria-current': selected ? 'true' : null, dataset: { key: `org|${o.id}`, org: o.id },
    },
    s('title', { text: `${o.name}${o.aliases.length ? ` (also ${o.aliases.join(', ')})` : ''}` }),
    shape(o.kind),
    s('text', { class: 'node-label', 'text-anchor': 'middle', y: NODE_RADIUS + 15 },
      lines.map((line, i) => s('tspan', { x: 0, dy: i === 0 ? 0 : 13, text: i < lines.length - 1 ? `${line} ` : line }))),
  );
    g.addEventListener('click', () => options.onSelectNode(o.id, `org|${o.id}`));
    nodeGroup.append(g);
    items.push(g);
    if (said) {
      // Beside the node, not in it: the node's accessible name stays its name.
      badges.append(s('g', { class: 'badge', transform: `translate(${(p.x + NODE_RADIUS - 2).toFixed(1)},${(p.y - NODE_RADIUS + 2).toFixed(1)})`, 'aria-hidden': 'true' },
        s('circle', { r: 8 }), s('text', { 'text-anchor': 'middle', y: 4, text: String(said) })));
    }
  }

  const hasIsolated = [...positions.values()].some((p) => p.isolated);
  const svg = s('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: 'graph-svg', role: 'group', id: 'graph-svg',
    'aria-label': `Relationship graph on ${graph.at}: ${graph.organizations.length} organizations, ${links.length} ties. Arrow keys move between them, Enter selects.`,
  }, defs,
  hasIsolated ? s('g', { class: 'strip' },
    s('line', { x1: 20, x2: WIDTH - 20, y1: HEIGHT - STRIP, y2: HEIGHT - STRIP }),
    s('text', { x: 24, y: HEIGHT - STRIP + 16, text: 'No tie on this date' })) : null,
  linkGroup, nodeGroup, badges);

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
  return {
    links,
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

function overlap(a, b) {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return w > 0 && h > 0 ? w * h : 0;
}

/**
 * Slides each tie's label along its line to where it covers no organization and no other label
 * (stakes first: their share matters most), then gives every label an opaque backdrop.
 */
function placeLabels(svg, labels, positions) {
  const taken = [];
  for (const g of svg.querySelectorAll('.node')) {
    const p = positions.get(g.dataset.org);
    const b = g.getBBox();
    taken.push({ x: p.x + b.x, y: p.y + b.y, width: b.width, height: b.height });
  }
  for (const label of [...labels].sort((a, b) => a.priority - b.priority)) {
    let best = null;
    for (const t of [0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75]) {
      const p = at(...label.curve, t);
      label.text.setAttribute('x', p.x.toFixed(1));
      label.text.setAttribute('y', (p.y + 4).toFixed(1));
      const box = label.text.getBBox();
      const cost = taken.reduce((sum, other) => sum + overlap(box, other), 0);
      if (!best || cost < best.cost) {
        best = { cost, p, box };
      }
      if (cost === 0) {
        break;
      }
    }
    label.text.setAttribute('x', best.p.x.toFixed(1));
    label.text.setAttribute('y', (best.p.y + 4).toFixed(1));
    taken.push(best.box);
    backdrop(label.text, 'label-bg');
  }
  for (const text of svg.querySelectorAll('.node-label')) {
    backdrop(text, 'label-bg');
  }
}

/** Companies and persons are circles, governments and public bodies squares, funds diamonds. */
function shape(kind) {
  const r = NODE_RADIUS;
  if (kind === 'government' || kind === 'public-body') {
    return s('rect', { x: -r + 2, y: -r + 2, width: 2 * r - 4, height: 2 * r - 4, rx: 5, class: 'dot' });
  }
  if (kind === 'fund') {
    return s('path', { d: `M0,${-r} L${r},0 L0,${r} L${-r},0 z`, class: 'dot' });
  }
  return s('circle', { r: kind === 'person' ? r - 4 : r, class: 'dot' });
}
