// A pair's timeline from the history answer: its periods over valid time (an imprecise boundary is
// a hatched span over the days it may fall on), what the ledger said before a correction, and the
// events on the recorded-time axis where they were recorded (corrections and retractions marked).

import { backdrop, fill, h, s } from './dom.js';
import { capital, dateWithPrecision, eventWord, instant, shareLabel, statusWord } from './words.js';

const WIDTH = 960;
const LEFT = 190;
const RIGHT = 940;
const DAY = 86400000;

const day = (text) => {
  const [y, m, d] = text.split('-').map(Number);
  return Date.UTC(y, m - 1, d);
};
const iso = (ms) => new Date(ms).toISOString().slice(0, 10);

/** Which events count as a change of what was known: the rest are first recordings. */
const SIGNIFICANCE = { fact_retracted: 4, fact_corrected: 3, fact_ended: 2, source_added_to_fact: 1, fact_recorded: 0 };

function eventsOf(history) {
  const events = new Map();
  for (const p of history.periods) {
    for (const b of [...p.finding.basis, ...p.corrections, ...p.supersedes.flatMap((v) => v.replacedBy)]) {
      events.set(b.sequence, b);
    }
  }
  return [...events.values()].sort((a, b) => a.sequence - b.sequence);
}

function supersededOf(history) {
  const seen = new Map();
  for (const v of history.periods.flatMap((p) => p.supersedes)) {
    seen.set([v.from, v.to, v.knownFrom, v.knownUntil, v.status].join('|'), v);
  }
  return [...seen.values()];
}

function ticks(min, max) {
  const years = (max - min) / (365.25 * DAY);
  const first = new Date(min);
  const out = [];
  if (years > 1.5) {
    const every = years > 12 ? 5 : years > 6 ? 2 : 1;
    for (let y = first.getUTCFullYear(); Date.UTC(y, 0, 1) <= max; y++) {
      const t = Date.UTC(y, 0, 1);
      if (t >= min) {
        out.push({ t, label: y % every === 0 ? String(y) : '', major: true });
      }
      for (const q of [3, 6, 9]) {
        const tq = Date.UTC(y, q, 1);
        if (tq >= min && tq <= max && years < 6) {
          out.push({ t: tq, label: '', major: false });
        }
      }
    }
  } else {
    for (let y = first.getUTCFullYear(), m = first.getUTCMonth(); Date.UTC(y, m, 1) <= max; m++) {
      const t = Date.UTC(y, m, 1);
      if (t >= min) {
        const d = new Date(t);
        out.push({ t, label: d.getUTCMonth() === 0 || years < 0.6 || d.getUTCMonth() % 3 === 0 ? iso(t).slice(0, 7) : '', major: d.getUTCMonth() === 0 });
      }
    }
  }
  return out;
}

/**
 * Renders the history answer into section. ctx: name(id), at, live, onPickDate(day), onClose(),
 * onSwap().
 */
export function renderTimeline(section, history, ctx) {
  const holder = ctx.name(history.holder);
  const subject = ctx.name(history.subject);
  const head = h('div', { class: 'panel-head' },
    h('h2', { id: 'timeline-title', text: `Timeline: ${holder}'s stake in ${subject}` }),
    h('button', { type: 'button', class: 'link-button', onclick: ctx.onSwap, text: `⇄ ${subject} in ${holder}` }),
    h('button', { type: 'button', class: 'close', 'aria-label': 'Close the timeline', onclick: ctx.onClose, text: '×' }));
  const asOf = h('p', { class: 'as-of' }, 'As known at ', h('strong', { text: instant(history.knownAt) }),
    ctx.live ? ' (now; follows new writes)' : ' (fixed)', '. Valid time above: when it was true in the world. Recorded time below: when the ledger learned it.');
  const periods = history.periods;
  if (!periods.length) {
    fill(section, head, asOf, h('p', { class: 'empty', text: `The ledger had recorded no stake of ${holder} in ${subject} by then.` }));
    return;
  }

  const events = eventsOf(history);
  const superseded = supersededOf(history);
  const recordedAt = (b) => Date.parse(b.recordedAt);
  const knownAt = Date.parse(history.knownAt);
  const at = day(ctx.at);
  const points = [at, knownAt, ...events.map(recordedAt)];
  for (const p of periods) {
    if (p.from) points.push(day(p.from));
    if (p.to) points.push(day(p.to));
  }
  for (const v of superseded) {
    if (v.from) points.push(day(v.from));
    if (v.to) points.push(day(v.to));
  }
  const successions = history.successions ?? [];
  for (const n of successions) {
    points.push(day(n.since.date));
  }
  const lo = Math.min(...points);
  const hi = Math.max(...points);
  const pad = Math.max((hi - lo) * 0.05, 45 * DAY);
  const min = lo - pad;
  const max = hi + pad;
  const x = (t) => LEFT + ((Math.min(Math.max(t, min), max) - min) / (max - min)) * (RIGHT - LEFT);

  // One row per write that replaced what the ledger said (a correction, a retraction…), oldest first.
  const rows = [...new Set(superseded.map((v) => v.knownUntil))].sort((a, b) => Date.parse(a) - Date.parse(b))
    .map((until) => superseded.filter((v) => v.knownUntil === until));
  const ROW = 34;
  const lanes = { valid: 36, superseded: rows.length ? 96 : null, recorded: rows.length ? 96 + rows.length * ROW + 16 : 110 };
  const height = lanes.recorded + 70;
  const svg = s('svg', { viewBox: `0 0 ${WIDTH} ${height}`, class: 'timeline-svg', role: 'group', 'aria-label': `Timeline of ${holder}'s stake in ${subject}` },
    s('defs', {},
      s('pattern', { id: 'hatch', patternUnits: 'userSpaceOnUse', width: 7, height: 7, patternTransform: 'rotate(45)' },
        s('rect', { width: 7, height: 7, class: 'hatch-ground' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 7, class: 'hatch-line' })),
      s('pattern', { id: 'hatch-grey', patternUnits: 'userSpaceOnUse', width: 7, height: 7, patternTransform: 'rotate(45)' },
        s('rect', { width: 7, height: 7, class: 'hatch-ground grey' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 7, class: 'hatch-line grey' })),
      s('pattern', { id: 'hatch-disputed', patternUnits: 'userSpaceOnUse', width: 7, height: 7, patternTransform: 'rotate(-45)' },
        s('rect', { width: 7, height: 7, class: 'hatch-ground' }), s('line', { x1: 0, y1: 0, x2: 0, y2: 7, class: 'hatch-line disputed' }))));

  // Axis and lane names.
  const axisY = height - 34;
  svg.append(s('line', { x1: LEFT, x2: RIGHT, y1: axisY, y2: axisY, class: 'axis' }));
  for (const tick of ticks(min, max)) {
    svg.append(s('line', { x1: x(tick.t), x2: x(tick.t), y1: 14, y2: axisY + (tick.major ? 6 : 3), class: tick.major ? 'grid major' : 'grid' }));
    if (tick.label) {
      svg.append(s('text', { x: x(tick.t), y: axisY + 20, class: 'tick', 'text-anchor': 'middle', text: tick.label }));
    }
  }
  svg.append(s('text', { x: 8, y: lanes.valid + 4, class: 'lane', text: 'In the world' }),
    s('text', { x: 8, y: lanes.valid + 18, class: 'lane sub', text: '(valid time)' }));
  if (lanes.superseded) {
    svg.append(s('text', { x: 8, y: lanes.superseded + 4, class: 'lane', text: 'Said before' }),
      s('text', { x: 8, y: lanes.superseded + 18, class: 'lane sub', text: '(superseded versions)' }));
  }
  svg.append(s('text', { x: 8, y: lanes.recorded + 4, class: 'lane', text: 'In the ledger' }),
    s('text', { x: 8, y: lanes.recorded + 18, class: 'lane sub', text: '(recorded time)' }));

  // Valid periods.
  for (const p of periods) {
    const f = p.finding;
    const x1 = p.from ? x(day(p.from)) : LEFT;
    const x2 = p.to ? x(day(p.to)) : RIGHT;
    const w = Math.max(x2 - x1, 2);
    const range = `${p.from ?? 'the beginning'} to ${p.to ? `${iso(day(p.to) - DAY)} inclusive` : 'open end'}`;
    const words = `${capital(statusWord(f.status))} from ${range}${f.share ? `: ${shareLabel(f.share)}` : ''}${f.confidence ? `, ${f.confidence}` : ''}. ${f.explanation}`;
    const g = s('g', {
      class: `period status-${f.status} conf-${f.confidence ?? 'none'}${p.to ? '' : ' open-end'}${p.from ? '' : ' open-start'}`,
      tabindex: 0, role: 'button', dataset: { from: p.from ?? '', to: p.to ?? '', status: f.status },
    }, s('title', { text: words }));
    // What the period shows in words comes first in its name, then the whole answer.
    const shown = [];
    const y = lanes.valid - 12;
    if (f.status === 'held' || f.status === 'uncertain') {
      g.append(s('rect', { x: x1, y, width: w, height: 24, rx: 2, class: 'bar' }));
      const label = f.status === 'uncertain' ? '?' : shareLabel(f.share);
      if (w > label.length * 6.5 + 8) {
        g.append(s('text', { x: x1 + w / 2, y: lanes.valid + 4, 'text-anchor': 'middle', class: 'bar-label', text: label }));
        shown.push(label);
      }
      if (f.status === 'uncertain') {
        const imprecise = [f.since, f.until].find((d) => d && d.precision !== 'day');
        const caption = imprecise ? `${imprecise.date}: ${imprecise.precision} precision` : 'cannot tell';
        g.append(s('text', { x: x1 + w / 2, y: lanes.valid + 26, 'text-anchor': 'middle', class: 'caption', text: caption }));
        shown.push(caption);
      }
    } else {
      g.append(s('rect', { x: x1, y, width: w, height: 24, class: 'hit' }),
        s('line', { x1, x2: x1 + w, y1: lanes.valid, y2: lanes.valid, class: 'bar' }));
      if (w > 60) {
        g.append(s('text', { x: x1 + w / 2, y: lanes.valid - 4, 'text-anchor': 'middle', class: 'caption', text: statusWord(f.status) }));
        shown.push(statusWord(f.status));
      }
    }
    g.setAttribute('aria-label', `${shown.length ? `${shown.join(' ')} — ` : ''}${words} Press Enter to show this date.`);
    const pick = () => ctx.onPickDate(p.from ?? iso(day(p.to) - DAY));
    g.addEventListener('click', pick);
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        pick();
      }
    });
    svg.append(g);
  }

  // Where the holding went: a mark on the valid lane where the holder or the subject was succeeded.
  for (const n of successions) {
    const sx = x(day(n.since.date));
    svg.append(s('g', { class: 'succession', tabindex: 0, role: 'img', 'aria-label': n.explanation, dataset: { fact: n.fact, side: n.side } },
      s('title', { text: n.explanation }),
      s('line', { x1: sx, x2: sx, y1: lanes.valid - 18, y2: lanes.valid + 18, class: 'succession-line' }),
      // Below the bar: above it stands the date marker's label.
      s('text', { x: sx + 4, y: lanes.valid + 30, class: 'caption', text: `${n.side} → ${ctx.name(n.successor)}` })));
  }

  // What the ledger said before later writes replaced it: each row as it stood until one write.
  rows.forEach((row, r) => {
    const top = lanes.superseded - 12 + r * ROW;
    const replaced = row[0].replacedBy.map((b) => `#${b.sequence} ${eventWord(b.type)}`).join(', ') || 'a later write';
    const heading = `Until ${replaced} (recorded ${instant(row[0].knownUntil)}):`;
    svg.append(s('text', { x: LEFT, y: top, class: 'caption row-heading', text: heading }));
    for (const v of row) {
      const x1 = v.from ? x(day(v.from)) : LEFT;
      const x2 = v.to ? x(day(v.to)) : RIGHT;
      const w = Math.max(x2 - x1, 2);
      const label = v.status === 'held' && v.share ? shareLabel(v.share) : null;
      const words = `Said ${statusWord(v.status)}${v.share ? ` (${shareLabel(v.share)})` : ''} for ${v.from ?? 'the beginning'} to ${v.to ?? 'open end'}, known from ${instant(v.knownFrom)} until ${instant(v.knownUntil)}; replaced by ${replaced}.`;
      const shown = label && w > label.length * 6.5 + 8 ? label : null;
      const y = top + 6;
      svg.append(s('g', { class: `superseded status-${v.status}`, tabindex: 0, role: 'img', 'aria-label': shown ? `${shown}: ${words}` : words,
        dataset: { from: v.from ?? '', to: v.to ?? '', status: v.status, until: v.knownUntil } },
      s('title', { text: words }),
      v.status === 'held' || v.status === 'uncertain'
        ? s('rect', { x: x1, y, width: w, height: 16, rx: 2, class: 'bar' })
        : s('line', { x1, x2: x1 + w, y1: y + 8, y2: y + 8, class: 'bar' }),
      shown ? s('text', { x: x1 + w / 2, y: y + 12, 'text-anchor': 'middle', class: 'caption', text: shown }) : null));
    }
  });

  // Events where they were recorded: one mark per write (its events share the recorded time).
  const writes = new Map();
  for (const b of events) {
    writes.set(b.recordedAt, [...(writes.get(b.recordedAt) ?? []), b]);
  }
  let lastX = -Infinity;
  let lift = 0;
  for (const [when, list] of [...writes.entries()].sort((a, b) => Date.parse(a[0]) - Date.parse(b[0]))) {
    const top = list.reduce((a, b) => (SIGNIFICANCE[b.type] ?? 0) > (SIGNIFICANCE[a.type] ?? 0) ? b : a);
    const cx = x(Date.parse(when));
    lift = cx - lastX < 70 ? (lift + 1) % 3 : 0;
    lastX = cx;
    const kind = top.type.replace(/_/g, '-');
    const caption = `#${list.map((b) => b.sequence).join(', #')}${top.type === 'fact_recorded' ? '' : ` ${eventWord(top.type)}`}`;
    const words = `${caption}: ${list.map((b) => `#${b.sequence} ${eventWord(b.type)}`).join(', ')}, recorded ${instant(when)}`;
    const y = lanes.recorded;
    const mark = top.type === 'fact_corrected' ? s('path', { d: `M${cx},${y - 7} L${cx + 7},${y} L${cx},${y + 7} L${cx - 7},${y} z`, class: 'mark' })
      : top.type === 'fact_retracted' ? s('path', { d: `M${cx - 6},${y - 6} L${cx + 6},${y + 6} M${cx + 6},${y - 6} L${cx - 6},${y + 6}`, class: 'mark cross' })
        : top.type === 'fact_ended' ? s('rect', { x: cx - 6, y: y - 6, width: 12, height: 12, class: 'mark' })
          : s('circle', { cx, cy: y, r: 5.5, class: 'mark' });
    svg.append(s('g', { class: `event event-${kind}`, tabindex: 0, role: 'img', 'aria-label': words, dataset: { type: top.type } },
      s('title', { text: words }), mark,
      s('text', { x: cx, y: y + 20 + lift * 12, 'text-anchor': 'middle', class: 'caption', text: caption })));
  }

  // Where the view stands: the date asked (valid lanes) and the moment known (recorded lane).
  svg.append(s('g', { class: 'marker at', 'aria-hidden': 'true' },
    s('line', { x1: x(at), x2: x(at), y1: 12, y2: lanes.superseded ? lanes.superseded + rows.length * ROW - 8 : lanes.valid + 16 }),
    s('text', { x: x(at) + 4, y: 10, text: `on ${ctx.at}` })));
  svg.append(s('g', { class: 'marker known', 'aria-hidden': 'true' },
    s('line', { x1: x(knownAt), x2: x(knownAt), y1: lanes.recorded - 16, y2: lanes.recorded + 10 }),
    s('text', { x: x(knownAt) - 4, y: lanes.recorded - 18, 'text-anchor': 'end', text: 'known at' })));

  fill(section, head, asOf, h('div', { class: 'timeline-figure' }, svg), periodTable(periods), successionList(successions), namesList(history.names ?? {}, ctx), changesList(events));
  for (const text of svg.querySelectorAll('.caption, .marker text')) {
    backdrop(text);
  }
}

function periodTable(periods) {
  return h('table', { class: 'periods' },
    h('caption', { text: 'Periods over valid time (from inclusive, to exclusive)' }),
    h('thead', {}, h('tr', {}, ['From', 'To', 'Status', 'Share', 'Since / until', 'Confidence', 'Corrected by'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, periods.map((p) => h('tr', {},
      h('td', { text: p.from ?? '…' }),
      h('td', { text: p.to ?? '…' }),
      h('td', { text: statusWord(p.finding.status) }),
      h('td', { text: p.finding.share ? shareLabel(p.finding.share) : '—' }),
      h('td', { text: [dateWithPrecision(p.finding.since), dateWithPrecision(p.finding.until)].filter(Boolean).join(' / ') || '—' }),
      h('td', { text: p.finding.confidence ?? '—' }),
      h('td', { text: p.corrections.map((c) => `#${c.sequence} ${eventWord(c.type)} (${instant(c.recordedAt)})`).join('; ') || '—' })))));
}

/** Where the holding went: the successions of its holder or subject, in the ledger's words (none: nothing shown). */
function successionList(successions) {
  return successions.length
    ? [h('h3', { text: 'Successions' }), h('ul', { class: 'successions' }, successions.map((n) => h('li', { dataset: { fact: n.fact } },
      n.explanation, h('span', { class: 'meta', text: ` (${n.fact}; ${n.confidence ?? 'no confidence'}; ${n.sources.map((x) => x.title).join(', ')})` }))))]
    : [];
}

/** The names the holder and the subject bore over time, former ones included (none: nothing shown). */
function namesList(names, ctx) {
  const orgs = Object.keys(names);
  return orgs.length
    ? [h('h3', { text: 'Names over time' }), h('ul', { class: 'names' }, orgs.flatMap((org) => names[org].map((n) => h('li', { dataset: { org, fact: n.fact } },
      `${ctx.name(org)}: “${n.name}” (${n.use === 'legal' ? 'legal name' : 'also known as'}) ${n.startUnknown ? 'by' : 'from'} ${n.from.date}`
      + (n.until ? ` until ${n.until.date}` : ''), h('span', { class: 'meta', text: ` (${n.fact})` })))))]
    : [];
}

function changesList(events) {
  const changes = events.filter((b) => b.type !== 'fact_recorded');
  return [h('h3', { text: 'Changes recorded after the first facts' }),
    changes.length
      ? h('ul', { class: 'changes' }, changes.map((b) => h('li', { dataset: { type: b.type } },
        h('strong', { text: `#${b.sequence} ${eventWord(b.type)}` }), ` recorded ${instant(b.recordedAt)}`)))
      : h('p', { class: 'none', text: 'None: no source added, correction, retraction or ending.' })];
}
