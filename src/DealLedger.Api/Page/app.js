// The explorer page: its state lives in the address (at, knownAt, around, hops, shown, edge, pair,
// org, q, compareAt, compareKnownAt), so a view can be shared and reopened exactly; every answer shown comes from the API as it is.
// The view starts from one organization and widens on request: no answer it asks for is unbounded.

import { ApiError, api, apiKey, setApiKey } from './api.js';
import { fill, h } from './dom.js';
import { linksOf, renderGraph } from './graph.js';
import { Live } from './live.js';
import { renderError, renderHolding, renderLoading, renderNotInForce, renderOrganization, renderTie } from './panel.js';
import { renderTimeline } from './timeline.js';
import { fold, instant, kindWord, shareLabel, statusWord } from './words.js';

const $ = (id) => document.getElementById(id);
const els = {
  dates: $('dates'), at: $('at'), knownAt: $('knownAt'), now: $('now'), freeze: $('freeze'),
  compareAt: $('compareAt'), compareKnownAt: $('compareKnownAt'), compare: $('compare'), compareTitle: $('compare-title'), compareList: $('compare-list'),
  search: $('search'), results: $('search-results'), live: $('live'), keyForm: $('key-form'), key: $('key'),
  keyStatus: $('key-status'), keyText: $('key-text'), forgetKey: $('forget-key'), error: $('error'),
  graphTitle: $('graph-title'), asOf: $('as-of'), graph: $('graph'), empty: $('graph-empty'), ties: $('ties-table'),
  panel: $('panel'), timeline: $('timeline'), start: $('start'), hood: $('hood'), hoodSummary: $('hood-summary'),
  secondHop: $('second-hop'), more: $('more'), rest: $('rest'), time: $('time'), timeRange: $('time-range'),
  timeDate: $('time-date'), timeEarlier: $('time-earlier'), timeLater: $('time-later'),
};

/** Neighbours drawn at first, and how many more each "Show more" adds; the API's own bound is 200. */
const SHOWN = 20;
const MAX_SHOWN = 200;

/** Where the seeds' ledger opens: the headline pair, Microsoft's stake in Mistral AI, around Mistral AI. */
const HEADLINE = { holder: 'microsoft', subject: 'mistral-ai' };

// ---- State in the address -------------------------------------------------------------------

function readAddress() {
  const p = new URLSearchParams(location.search);
  const pair = (p.get('pair') ?? '').split(',').filter(Boolean);
  const shown = Number.parseInt(p.get('shown') ?? '', 10);
  return {
    at: p.get('at') || null,
    knownAt: p.get('knownAt') || null,
    around: p.get('around') || null,
    hops: p.get('hops') === '2' ? 2 : 1,
    shown: Number.isFinite(shown) ? Math.min(Math.max(shown, 1), MAX_SHOWN) : SHOWN,
    edge: p.get('edge') || null,
    pair: pair.length === 2 ? pair : null,
    org: p.get('org') || null,
    q: p.get('q') ?? '',
    compareAt: p.get('compareAt') || null,
    compareKnownAt: p.get('compareKnownAt') || null,
  };
}

// Chains the panel looks through: a web of cross-holdings over thousands of organizations answers deeper questions in seconds, not at a click.
const THROUGH_DEPTH = 3;

let state = readAddress();

function address(st) {
  const parts = [];
  const add = (k, v) => {
    if (v) {
      parts.push(`${k}=${encodeURIComponent(v).replace(/%2C/g, ',')}`);
    }
  };
  add('at', st.at);
  add('knownAt', st.knownAt);
  add('around', st.around);
  add('hops', st.hops === 2 ? '2' : null);
  add('shown', st.shown !== SHOWN ? String(st.shown) : null);
  add('edge', st.edge);
  add('pair', st.pair?.join(','));
  add('org', st.org);
  add('q', st.q);
  add('compareAt', st.compareAt);
  add('compareKnownAt', st.compareKnownAt);
  return `${location.pathname}${parts.length ? `?${parts.join('&')}` : ''}`;
}

/** Changes the state and the address with it (a new history entry unless replace). */
function commit(changes, { replace = false } = {}) {
  state = { ...state, ...changes };
  const url = address(state);
  if (url !== location.pathname + location.search) {
    history[replace ? 'replaceState' : 'pushState'](null, '', url);
  }
}

// ---- Loading the view ----------------------------------------------------------------------

let generation = 0;
let graph = null; // the last graph answer
let drawn = null; // what renderGraph returned
let comparison = null; // the ties of the organization shown, compared with another moment or date (compareWith)
let changesSince = 0; // events the feed delivered while the view is fixed

const isLive = () => !state.knownAt;

function names() {
  const m = new Map((graph?.organizations ?? []).map((o) => [o.id, o.name]));
  return (id) => m.get(id) ?? id;
}

function showError(error) {
  if (!error) {
    els.error.hidden = true;
    els.error.textContent = '';
    return;
  }
  els.error.textContent = error.message;
  els.error.hidden = false;
}

/** loading | ready | error; each view shown counts in data-loads (tests and scripts wait on it). */
function setPhase(phase) {
  document.body.dataset.state = phase;
  if (phase === 'ready') {
    document.body.dataset.loads = String(Number(document.body.dataset.loads ?? 0) + 1);
    if (document.body.dataset.loads === '1') {
      // When the first view was drawn, after navigation began: what the benchmark reads (eng/bench).
      performance.mark('dealledger-first-view');
    }
  }
}

let lookedForHeadline = false;

/** On the seeds' ledger (both organizations of the headline pair known), the view to open on; else null. */
async function headline() {
  try {
    await api.holding(HEADLINE.holder, HEADLINE.subject, state.at, state.knownAt);
    return HEADLINE.subject;
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400)) {
      return null;
    }
    throw e;
  }
}

/** Reloads everything the address asks for: the neighbourhood, then the answer panel and the timeline at its instant. */
async function load({ keepFocus = false } = {}) {
  const gen = ++generation;
  setPhase('loading');
  els.at.value = state.at ?? '';
  els.knownAt.value = state.knownAt ?? '';
  els.compareAt.value = state.compareAt ?? '';
  els.compareKnownAt.value = state.compareKnownAt ?? '';
  els.search.value = state.q;
  const focusKey = keepFocus ? document.activeElement?.closest?.('#graph [data-key]')?.dataset.key : null;
  let answer = null;
  try {
    if (!state.around && !lookedForHeadline) {
      const start = await headline();
      if (gen !== generation) {
        return;
      }
      // Asked once a page, and only once answered (a key may be needed first).
      lookedForHeadline = true;
      if (start) {
        commit({ around: start }, { replace: true });
      }
    }
    if (state.around) {
      answer = await api.graph({ around: state.around, hops: state.hops === 2 ? 2 : null, at: state.at, knownAt: state.knownAt, limit: state.shown });
      comparison = await compareWith(answer);
    }
  } catch (e) {
    if (gen === generation) {
      if (e instanceof ApiError && e.status === 404 && state.around) {
        nothingYet(e);
        return;
      }
      failed(e);
    }
    return;
  }
  if (gen !== generation) {
    return;
  }
  showError(null);
  els.keyForm.hidden = true;
  showKeyStatus();
  graph = answer;
  if (!answer) {
    startHere();
    setPhase('ready');
    startLive();
    return;
  }
  if (!state.at) {
    commit({ at: answer.at }, { replace: true });
    els.at.value = answer.at;
  }
  document.title = `DealLedger — around ${names()(answer.around)} on ${answer.at}`;
  document.body.dataset.knownAt = answer.knownAt;
  // The panel's room first, so the graph is drawn at the width it will keep.
  els.panel.hidden = !(state.edge || state.org);
  draw(focusKey);
  await Promise.all([loadPanel(gen), loadTimeline(gen)]);
  if (gen === generation) {
    if (focusKey && drawn && !els.panel.contains(document.activeElement)) {
      drawn.focus(focusKey);
    }
    setPhase('ready');
    startLive();
  }
}

/** No organization chosen yet (and not the seeds' ledger): the page starts from the search. */
function startHere() {
  // Nothing of the last organization's view stays: its graph, panel and timeline too (Back to the start).
  clearAnswer();
  els.graphTitle.textContent = 'Relationships';
  els.start.hidden = false;
  els.empty.hidden = true;
  els.freeze.disabled = true;
  els.now.disabled = isLive();
  liveNotice();
}

/** Takes the last answer off the page: the graph, its ties and date, and what was drawn from them. */
function clearAnswer() {
  graph = null;
  drawn = null;
  comparison = null;
  els.compare.hidden = true;
  fill(els.graph);
  fill(els.ties);
  fill(els.asOf);
  for (const el of [els.hood, els.rest, els.time, els.panel, els.timeline]) {
    el.hidden = true;
  }
}

/** The organization is not known to the ledger as of knownAt: nothing to draw, said plainly. */
function nothingYet(e) {
  setPhase('ready');
  showError(null);
  clearAnswer();
  els.start.hidden = true;
  els.empty.textContent = `The ledger had recorded nothing about ${state.around} by ${state.knownAt ? instant(state.knownAt) : 'now'}: ${e.message}`;
  els.empty.hidden = false;
  liveNotice();
}

function failed(e) {
  setPhase('error');
  // No answer for these dates: show none, rather than the last one under the new dates.
  clearAnswer();
  els.empty.hidden = true;
  if (e instanceof ApiError && e.status === 401) {
    askForKey(apiKey() ? 'The API key is unknown or revoked. Enter another one.' : null);
    return;
  }
  if (e instanceof ApiError && e.status === 403) {
    askForKey('This key may not read. Enter a key with the role reader or higher.');
    return;
  }
  showError(e instanceof ApiError ? e : new Error(`The API cannot be reached (${e.message}).`));
}

function draw(focusKey) {
  const name = names();
  const live = isLive();
  els.start.hidden = true;
  els.graphTitle.textContent = `Relationships on ${graph.at}`;
  fill(els.asOf, 'As known at ', h('strong', { text: instant(graph.knownAt) }),
    live ? ' — now: the view follows the ledger as it records.' : ' — a fixed moment: a past view never changes.');
  els.freeze.disabled = !live;
  els.now.disabled = live;
  const matches = searchMatches();
  drawn = renderGraph(els.graph, graph, {
    selectedFact: state.edge, selectedOrg: state.org, matches: matches && new Set(matches.map((o) => o.id)),
    focusKey, onSelectEdge: selectEdge, onSelectNode: selectOrg, mark: markOf,
  });
  els.empty.hidden = drawn.links.length > 0;
  els.empty.textContent = drawn.links.length ? '' : `No tie of ${name(graph.around)} is in force on ${graph.at}.`;
  drawNeighbourhood(name);
  drawComparison(name);
  drawTime();
  drawTies(name);
  renderSearch();
  liveNotice();
}

// ---- Compared with another moment or date ---------------------------------------------------

/**
 * The organization's ties in the view set against another moment (what the ledger learned in between: a knowledge diff)
 * or another date (what changed in the world: a world diff), as GET /api/changes answers, on the view's date and as known
 * at its moment. Each change is new (in the view, not then), gone (then, not in the view) or changed (in both, different).
 */
async function compareWith(answer) {
  const other = state.compareKnownAt ?? state.compareAt;
  if (!other) {
    return null;
  }
  const byMoment = Boolean(state.compareKnownAt);
  const shown = byMoment ? answer.knownAt : answer.at;
  // The API compares an earlier with a later one: the view may be either.
  const viewFirst = byMoment ? Date.parse(other) > Date.parse(shown) : other > shown;
  const [first, second] = viewFirst ? [shown, other] : [other, shown];
  const result = await api.changes(byMoment
    ? { knownFrom: first, knownTo: second, at: answer.at, org: answer.around, limit: 1000 }
    : { at: first, toAt: second, knownAt: answer.knownAt, org: answer.around, limit: 1000 });
  const holds = (periods) => periods.some((p) => p.finding.status === 'held' || p.finding.status === 'uncertain');
  const inForce = (tie) => Boolean(tie) && !tie.fact.retraction;
  const judge = (before, after) => {
    const [inView, then] = viewFirst ? [before, after] : [after, before];
    return inView && !then ? 'added' : !inView && then ? 'removed' : 'changed';
  };
  const changes = [
    ...result.holdings.map((c) => ({ mark: judge(holds(c.before), holds(c.after)), holder: c.holder, subject: c.subject, summary: `Stake of ${c.summary}`, kinds: c.kinds })),
    ...result.ties.map((c) => ({ mark: judge(inForce(c.before), inForce(c.after)), fact: c.fact, summary: c.summary, kinds: c.kinds })),
  ];
  return { byMoment, other, changes, more: result.page.next !== null };
}

/** Words for what the view is compared with. */
const comparedWith = () => (comparison.byMoment ? `what the ledger knew at ${instant(comparison.other)}` : comparison.other);

/** How the graph marks a tie drawn (the links of one bundle): new if any of them is, changed if any changed, else not at all. */
function markOf(links) {
  if (!comparison) {
    return null;
  }
  const found = comparison.changes.filter((c) => c.mark !== 'removed' && links.some(({ edge, from, to }) =>
    (c.fact ? edge.fact === c.fact : edge.type === 'stake' && from === c.holder && to === c.subject)));
  const kind = found.some((c) => c.mark === 'added') ? 'added' : found.length ? 'changed' : null;
  return kind && { kind, word: kind === 'added' ? 'new' : 'changed', than: comparedWith() };
}

/** Lists every change in words under the graph (those gone are not drawn). */
function drawComparison() {
  els.compare.hidden = !comparison;
  if (!comparison) {
    return;
  }
  const than = comparedWith();
  const count = (m) => comparison.changes.filter((c) => c.mark === m).length;
  els.compareTitle.textContent = `Compared with ${than}: ${count('added')} added, ${count('removed')} removed, ${count('changed')} changed`;
  const word = { added: 'added', removed: 'removed', changed: 'changed' };
  fill(els.compareList, comparison.changes.length
    ? comparison.changes.map((c) => h('li', { dataset: { mark: c.mark, key: c.fact ?? `${c.holder}:${c.subject}` } },
      h('span', { class: `cmp-tag ${c.mark}`, text: word[c.mark] }), ` ${c.summary} — ${c.kinds.join(', ')}`))
    : [h('li', { text: 'Nothing of these ties changed.' })]);
  if (comparison.more) {
    els.compareList.append(h('li', { text: 'More changes than one answer lists: narrow the dates to see the rest.' }));
  }
}

/** Who a left-out group is, seen from the organization it is tied to. */
function restWords(r) {
  const incoming = r.direction === 'incoming';
  const words = {
    stake: incoming ? 'holders of stakes' : 'organizations it holds stakes in',
    control: incoming ? 'organizations controlling it' : 'organizations it controls',
    acquisition: incoming ? 'acquirers' : 'acquisitions',
    investment: incoming ? 'investors' : 'organizations it invested in',
    'board-seat': incoming ? 'holders of board seats' : 'boards it sits on',
    'indirect-stake': incoming ? 'organizations stated to hold it indirectly' : 'organizations it is stated to hold indirectly',
    partnership: 'partners',
    announcement: 'organizations of joint announcements',
  }[r.type] ?? kindWord(r.type);
  const share = r.largestShare !== null && r.largestShare !== undefined ? `, none above ${r.largestShare} %` : '';
  return `${r.organizations} more ${words}${share}${r.hop === 2 ? ' a second hop away' : ''}`;
}

function drawNeighbourhood(name) {
  const first = graph.organizations.filter((o) => o.hop === 1).length;
  const second = graph.organizations.filter((o) => o.hop === 2).length;
  const total = graph.page.total;
  fill(els.hoodSummary, h('strong', { text: name(graph.around) }),
    ` and ${first === total ? `the ${total}` : `${first} of the ${total}`} ${total === 1 ? 'organization' : 'organizations'} tied to it on ${graph.at}`,
    first < total ? ' (the strongest ties first)' : '',
    graph.hops === 2 ? `, and ${second} a second hop away` : '', '.');
  els.hood.hidden = false;
  els.secondHop.setAttribute('aria-pressed', String(state.hops === 2));
  els.secondHop.textContent = state.hops === 2 ? 'Hide the second hop' : 'Show a second hop';
  const next = graph.page.next !== null && state.shown < MAX_SHOWN;
  els.more.hidden = !next;
  if (next) {
    els.more.textContent = `Show ${Math.min(SHOWN, total - state.shown, MAX_SHOWN - state.shown)} more`;
  }
  fill(els.rest, graph.rest.map((r) => h('li', { text: `and ${restWords(r)}` })));
  els.rest.hidden = graph.rest.length === 0;
}

let timeDays = [];

/** The time control: steps over the days where the organization's ties begin or end, and the day shown. */
function drawTime() {
  timeDays = [...new Set([...graph.changes, graph.at])].sort();
  const i = timeDays.indexOf(graph.at);
  els.time.hidden = timeDays.length < 2;
  els.timeRange.max = String(timeDays.length - 1);
  els.timeRange.value = String(i);
  els.timeRange.setAttribute('aria-valuetext', graph.at);
  els.timeDate.textContent = graph.at;
  els.timeEarlier.disabled = i <= 0;
  els.timeLater.disabled = i >= timeDays.length - 1;
}

let timeTimer = null;

/** Moves `at` to a day of the control and redraws in place (no reload); dragging waits for a pause. */
function stepTo(index, { wait = 0 } = {}) {
  const day = timeDays[Math.min(Math.max(index, 0), timeDays.length - 1)];
  els.timeDate.textContent = day;
  els.timeRange.setAttribute('aria-valuetext', day);
  clearTimeout(timeTimer);
  timeTimer = setTimeout(() => {
    if (day && day !== state.at) {
      changesSince = 0;
      commit({ at: day }, { replace: true });
      load({ keepFocus: true });
    }
  }, wait);
}

els.timeRange.addEventListener('input', () => stepTo(Number(els.timeRange.value), { wait: 200 }));
els.timeEarlier.addEventListener('click', () => stepTo(timeDays.indexOf(state.at) - 1));
els.timeLater.addEventListener('click', () => stepTo(timeDays.indexOf(state.at) + 1));
els.secondHop.addEventListener('click', () => {
  commit({ hops: state.hops === 2 ? 1 : 2 });
  load();
});
els.more.addEventListener('click', () => {
  commit({ shown: Math.min(state.shown + SHOWN, MAX_SHOWN) });
  load();
});

function drawTies(name) {
  const links = graph ? linksOf(graph) : [];
  if (!links.length) {
    fill(els.ties, h('p', { class: 'none', text: 'No tie on this date.' }));
    return;
  }
  fill(els.ties, h('table', {},
    h('thead', {}, h('tr', {}, ['Tie', 'From', 'To', 'Share or kind', 'On this date', 'Confidence', 'Since'].map((t) => h('th', { scope: 'col', text: t })))),
    h('tbody', {}, links.map((l) => h('tr', {},
      h('td', {}, h('button', { type: 'button', class: 'link-button', onclick: () => selectEdge(l.edge, l.key), text: l.edge.fact })),
      h('td', { text: name(l.from) }),
      h('td', { text: name(l.to) }),
      h('td', { text: l.edge.type === 'stake' ? shareLabel(l.edge.share) : kindWord(l.edge.type) }),
      h('td', { text: statusWord(l.edge.status) }),
      h('td', { text: l.edge.confidence ?? '—' }),
      h('td', { text: l.edge.since ? `${l.edge.startUnknown ? 'by ' : ''}${l.edge.since.date}` : '—' }))))));
}

// ---- The answer panel and the timeline ------------------------------------------------------

function panelContext() {
  return {
    name: names(),
    live: isLive(),
    onClose: closePanel,
    onShowTimeline: showTimeline,
    onSelectFact: (fact, type, org, r) => {
      commit({ edge: fact, org: null, pair: r.type === 'announcement' ? state.pair : pairOf(org, r) });
      refreshSelection('panel');
    },
    loadEvent: (sequence) => api.event(sequence),
    onShowChain: markChain,
    around: state.around,
    onCentre: (id) => {
      commit({ around: id, org: id, edge: null, shown: SHOWN });
      load();
    },
  };
}

/**
 * Marks a chain of stakes (holder first) in the graph: its organizations and the lines between consecutive ones,
 * those the view draws; the answer panel says how many of them are drawn here.
 */
function markChain(chain) {
  const svg = els.graph.querySelector('svg');
  if (!svg) {
    return;
  }
  const steps = new Set(chain.slice(1).map((to, i) => `${chain[i]}|${to}`));
  let drawnHere = 0;
  for (const node of svg.querySelectorAll('.node')) {
    const on = chain.includes(node.dataset.org);
    node.classList.toggle('on-chain', on);
    drawnHere += on ? 1 : 0;
  }
  for (const line of svg.querySelectorAll('.link')) {
    line.classList.toggle('on-chain', steps.has(`${line.dataset.from}|${line.dataset.to}`));
  }
  const note = els.panel.querySelector('.chain-note') ?? h('p', { class: 'chain-note meta', role: 'status' });
  note.textContent = `Chain marked in the graph: ${drawnHere} of its ${chain.length} organizations are drawn in this view.`;
  els.panel.querySelector('.through')?.append(note);
}

/** Under the answer about one tie of a bundle: the other ties between the same two organizations, to pick. */
function showBundle(panel) {
  const bundle = drawn?.bundles.find((b) => b.links.some((l) => l.edge.fact === state.edge));
  const others = bundle ? bundle.links.filter((l) => l.edge.fact !== state.edge) : [];
  if (!others.length) {
    return;
  }
  const name = names();
  panel.querySelector('.as-of')?.after(h('div', { class: 'also' },
    h('h3', { text: `Also between ${name(bundle.lead.from)} and ${name(bundle.lead.to)} on this date` }),
    h('ul', { class: 'ties-list' }, others.map((l) => h('li', {},
      h('button', { type: 'button', class: 'link-button', onclick: () => selectEdge(l.edge, l.key), text: l.edge.summary }),
      h('span', { class: 'meta', text: ` — ${kindWord(l.edge.type)}, ${statusWord(l.edge.status)}` }))))));
}

/** The directed pair of a relationship seen from org: holder first. */
function pairOf(org, r) {
  const other = r.counterparties[0];
  return r.direction === 'incoming' ? [other, org] : [org, other];
}

async function loadPanel(gen) {
  const panel = els.panel;
  const ctx = panelContext();
  if (!state.edge && !state.org) {
    panel.hidden = true;
    fill(panel);
    return;
  }
  panel.hidden = false;
  const title = state.edge ?? ctx.name(state.org);
  if (!panel.childElementCount) {
    renderLoading(panel, title, ctx);
  }
  const at = graph.at;
  const knownAt = graph.knownAt;
  try {
    if (state.org && !state.edge) {
      // The ties at once; the owners through chains added when they come (a web of cross-holdings can take a while),
      // and not at all when that answer fails.
      const through = api.ownersThrough(state.org, at, knownAt, THROUGH_DEPTH).catch(() => null);
      const answer = await api.relationships(state.org, at, knownAt);
      if (gen !== generation) {
        return;
      }
      renderOrganization(panel, answer, ctx, null);
      const owners = await through;
      if (owners && gen === generation) {
        renderOrganization(panel, answer, ctx, owners);
      }
      return;
    }
    let edge = graph.edges.find((e) => e.fact === state.edge);
    let type = edge?.type;
    let orgs = edge?.organizations;
    if (!edge) {
      // Not in force on this date: the fact itself says what kind of tie it is and between whom
      // (neither changes with corrections); the answer below is still the one at at/knownAt.
      try {
        const fact = (await api.fact(state.edge)).current;
        type = fact.type;
        orgs = fact.organizations;
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          if (gen === generation) {
            renderNotInForce(panel, state.edge, null, at, knownAt, ctx);
          }
          return;
        }
        throw e;
      }
    }
    if (type === 'stake') {
      const answer = await api.holding(orgs[0], orgs[1], at, knownAt);
      if (gen === generation) {
        renderHolding(panel, answer, ctx);
        showBundle(panel);
      }
      return;
    }
    // Only this fact's tie, however many ties come before it (a hub lists thousands of stakes first).
    const answer = await api.relationships(orgs[0], at, knownAt, undefined, state.edge);
    const r = answer.relationships.find((x) => x.fact === state.edge);
    if (gen === generation) {
      if (r) {
        renderTie(panel, r, answer, orgs[0], ctx);
        showBundle(panel);
      } else {
        renderNotInForce(panel, state.edge, type, at, knownAt, ctx);
      }
    }
  } catch (e) {
    if (gen === generation) {
      renderError(panel, title, e, ctx);
    }
  }
}

async function loadTimeline(gen) {
  const section = els.timeline;
  if (!state.pair) {
    section.hidden = true;
    fill(section);
    return;
  }
  const [holder, subject] = state.pair;
  const ctx = {
    name: names(),
    at: graph.at,
    live: isLive(),
    onPickDate: (day) => {
      commit({ at: day });
      load();
    },
    onClose: () => {
      commit({ pair: null });
      loadTimeline(generation);
    },
    onSwap: () => {
      commit({ pair: [subject, holder] });
      loadTimeline(generation);
    },
  };
  section.hidden = false;
  try {
    const history = await api.history(holder, subject, graph.knownAt);
    if (gen === generation) {
      renderTimeline(section, history, ctx);
    }
  } catch (e) {
    if (gen === generation) {
      fill(section, h('h2', { id: 'timeline-title', text: `Timeline: ${ctx.name(holder)} in ${ctx.name(subject)}` }),
        h('p', { class: 'error', role: 'alert', text: e.message }));
    }
  }
}

/** After a selection: redraw the graph from the answer in hand, then the panel (and the timeline). */
async function refreshSelection(focus) {
  const gen = ++generation;
  setPhase('loading');
  const focusKey = document.activeElement?.closest?.('#graph [data-key]')?.dataset.key;
  draw(focusKey);
  await Promise.all([loadPanel(gen), loadTimeline(gen)]);
  if (gen === generation) {
    setPhase('ready');
    if (focus === 'panel' && !els.panel.hidden) {
      els.panel.focus();
    }
  }
}

let lastSelected = null; // the graph item the open panel came from: Escape returns there

function selectEdge(edge, key) {
  const [from, to] = edge.organizations;
  commit({ edge: edge.fact, org: null, pair: [from, to] });
  lastSelected = key;
  refreshSelection('panel');
}

function selectOrg(id, key) {
  commit({ org: id, edge: null });
  lastSelected = key ?? `org|${id}`;
  refreshSelection('panel');
}

function showTimeline(holder, subject) {
  commit({ pair: [holder, subject] });
  loadTimeline(generation).then(() => els.timeline.scrollIntoView({ block: 'nearest' }));
}

function closePanel() {
  if (!state.edge && !state.org) {
    return;
  }
  const back = lastSelected ?? (state.edge ? `${state.edge}|` : `org|${state.org}`);
  commit({ edge: null, org: null });
  els.panel.hidden = true;
  fill(els.panel);
  draw(back);
  if (drawn && !drawn.focus(back)) {
    // The key may be a prefix (a tie chosen from a list): focus its first line.
    const item = els.graph.querySelector(`[data-key^="${CSS.escape(back)}"]`);
    if (item) {
      drawn.focus(item.dataset.key);
    }
  }
}

// ---- Search ---------------------------------------------------------------------------------
// The API finds organizations (GET /api/organizations?q=); the drawing marks those of it that match.

let active = -1;
let found = { q: null, organizations: [], total: 0 }; // the API's last answer, for the text it was asked
let searching = null; // the request in flight, if any
let searchTimer = null;

/** The organizations drawn that match the search text (marked in the drawing). */
function searchMatches() {
  const q = fold(state.q.trim());
  if (!q || !graph) {
    return null;
  }
  return graph.organizations.filter((o) => [o.name, o.id, ...o.aliases].some((t) => fold(t).includes(q)));
}

function runSearch() {
  const q = state.q.trim();
  clearTimeout(searchTimer);
  if (!q) {
    found = { q, organizations: [], total: 0 };
    searching = null;
    renderSearch();
    return Promise.resolve();
  }
  const request = api.search(q, state.knownAt, 20).then((answer) => {
    if (state.q.trim() === q) {
      found = { q, organizations: answer.organizations, total: answer.page.total };
      renderSearch();
    }
  }, (e) => {
    if (state.q.trim() === q) {
      found = { q, organizations: [], total: 0, error: e.message };
      renderSearch();
    }
  });
  searching = request;
  return request;
}

function renderSearch() {
  const list = els.results;
  const q = state.q.trim();
  if (!q || found.q !== q || document.activeElement !== els.search) {
    list.hidden = true;
    els.search.setAttribute('aria-expanded', 'false');
    els.search.removeAttribute('aria-activedescendant');
    return;
  }
  const matches = found.organizations;
  active = Math.min(active, matches.length - 1);
  const more = found.total - matches.length;
  fill(list, ...(matches.length ? matches.map((o, i) => h('li', {
    id: `found-${o.id}`, role: 'option', 'aria-selected': i === active ? 'true' : 'false', dataset: { org: o.id },
    onmousedown: (e) => e.preventDefault(), onclick: () => choose(o.id),
  }, h('strong', { text: o.name }), o.aliases.length ? ` — also ${o.aliases.join(', ')}` : '', h('span', { class: 'id', text: ` (${o.id})` })))
    : [h('li', { class: 'none', role: 'option', 'aria-disabled': 'true', text: found.error ?? 'No organization by that name.' })]),
  more > 0 ? h('li', { class: 'none', role: 'option', 'aria-disabled': 'true', text: `and ${more} more: type more of the name` }) : null);
  list.hidden = false;
  els.search.setAttribute('aria-expanded', 'true');
  if (active >= 0 && matches[active]) {
    els.search.setAttribute('aria-activedescendant', `found-${matches[active].id}`);
  } else {
    els.search.removeAttribute('aria-activedescendant');
  }
}

/** A found organization becomes the middle of the view, its answer open. */
function choose(id) {
  active = -1;
  els.results.hidden = true;
  els.search.setAttribute('aria-expanded', 'false');
  commit({ around: id, org: id, edge: null, shown: SHOWN });
  lastSelected = `org|${id}`;
  load().then(() => {
    if (!els.panel.hidden) {
      els.panel.focus();
    }
  });
}

els.search.addEventListener('input', () => {
  active = -1;
  commit({ q: els.search.value }, { replace: true });
  if (graph) {
    draw(null);
  }
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 150);
});
els.search.addEventListener('focus', () => {
  if (state.q.trim() && found.q !== state.q.trim()) {
    runSearch();
  }
  renderSearch();
});
els.search.addEventListener('blur', () => renderSearch());
els.search.addEventListener('keydown', async (e) => {
  if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
    e.preventDefault();
    const down = e.key === 'ArrowDown';
    if (found.q !== state.q.trim()) {
      // The answer is on its way: the first (or last) of it will be the one chosen.
      active = down ? 0 : -1;
      await (searching ?? runSearch());
      if (!down) {
        active = found.organizations.length - 1;
      }
      renderSearch();
      return;
    }
    const n = found.organizations.length;
    if (n) {
      active = (active + (down ? 1 : -1) + n) % n;
      renderSearch();
    }
  } else if (e.key === 'Enter') {
    e.preventDefault();
    if (found.q !== state.q.trim()) {
      await (searching ?? runSearch());
    }
    const pick = found.organizations[active] ?? found.organizations[0];
    if (pick) {
      choose(pick.id);
    }
  } else if (e.key === 'Escape' && !els.results.hidden) {
    e.preventDefault();
    e.stopPropagation();
    els.results.hidden = true;
    els.search.setAttribute('aria-expanded', 'false');
  }
});

// ---- Dates ----------------------------------------------------------------------------------

function datesFromControls() {
  const at = els.at.value || null;
  const knownAt = els.knownAt.value.trim() || null;
  const compareAt = els.compareAt.value || null;
  // One comparison at a time: a moment typed wins over a date.
  const compareKnownAt = els.compareKnownAt.value.trim() || null;
  const compare = compareKnownAt ? { compareKnownAt, compareAt: null } : { compareAt, compareKnownAt: null };
  if (at !== state.at || knownAt !== state.knownAt || compare.compareAt !== state.compareAt || compare.compareKnownAt !== state.compareKnownAt) {
    changesSince = 0;
    commit({ at, knownAt, ...compare });
    load();
  }
}

els.dates.addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(atTimer);
  datesFromControls();
});
// Typing a year digit by digit passes through valid dates (0002, 0020, 0202…): wait for a pause.
let atTimer = null;
els.at.addEventListener('change', () => {
  clearTimeout(atTimer);
  if (els.at.value) {
    atTimer = setTimeout(datesFromControls, 350);
  }
});
els.knownAt.addEventListener('change', datesFromControls);
els.compareAt.addEventListener('change', datesFromControls);
els.compareKnownAt.addEventListener('change', datesFromControls);
els.now.addEventListener('click', () => {
  changesSince = 0;
  commit({ knownAt: null });
  load();
});
els.freeze.addEventListener('click', () => {
  if (graph) {
    changesSince = 0;
    commit({ knownAt: graph.knownAt });
    load();
  }
});

// ---- Keys -----------------------------------------------------------------------------------

function askForKey(message) {
  els.keyForm.hidden = false;
  els.keyStatus.hidden = true;
  showError(message ? new Error(message) : null);
  live.stop();
  els.key.focus();
}

function showKeyStatus() {
  const key = apiKey();
  els.keyStatus.hidden = !key;
  els.keyText.textContent = key ? 'Reading with the API key you entered (kept in this tab only).' : '';
}

els.keyForm.addEventListener('submit', (e) => {
  e.preventDefault();
  setApiKey(els.key.value.trim());
  els.key.value = '';
  load();
});
els.forgetKey.addEventListener('click', () => {
  setApiKey(null);
  live.stop();
  load();
});

// ---- Live -----------------------------------------------------------------------------------

let refreshTimer = null;
let lastChange = null;
let liveState = 'off';

const live = new Live({
  onChange: ({ sequence }) => {
    lastChange = sequence;
    if (isLive()) {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(() => load({ keepFocus: true }), 250);
    } else {
      changesSince += 1;
    }
    liveNotice();
  },
  onState: (s) => {
    liveState = s;
    if (s === 'needs-key') {
      askForKey(null);
    }
    liveNotice();
  },
});

function startLive() {
  if (!live.running) {
    live.start();
  }
}

function liveNotice() {
  const p = els.live;
  p.dataset.state = liveState;
  p.dataset.changesSince = String(changesSince);
  if (lastChange !== null) {
    p.dataset.sequence = String(lastChange);
  }
  const connection = {
    off: 'Not following the ledger.',
    connecting: 'Connecting to the change feed…',
    connected: 'Following the change feed.',
    reconnecting: 'The change feed was interrupted; reconnecting (nothing will be missed)…',
    'needs-key': 'The change feed needs an API key.',
  }[liveState];
  if (isLive()) {
    fill(p, h('span', { class: `dot ${liveState}`, 'aria-hidden': 'true' }),
      ` Live: ${connection}`, lastChange !== null ? ` Last change shown: #${lastChange}.` : ' The view updates by itself when the ledger records a change.');
  } else {
    fill(p, h('span', { class: 'dot fixed', 'aria-hidden': 'true' }),
      ` Fixed view as known at ${instant(graph?.knownAt ?? state.knownAt)}: a past moment never changes, so this view does not follow new writes.`,
      changesSince ? ` ${changesSince} ${changesSince === 1 ? 'change has' : 'changes have'} been recorded since you opened it. ` : ' ',
      h('button', { type: 'button', class: 'link-button', onclick: () => els.now.click(), text: 'Show now' }));
  }
}

// ---- Keyboard and history -------------------------------------------------------------------

// The skip link lands on the graph's item in the Tab order, ready for the arrow keys.
document.querySelector('.skip').addEventListener('click', (e) => {
  const item = els.graph.querySelector('[data-key][tabindex="0"]');
  if (item) {
    e.preventDefault();
    item.focus();
  }
});

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !e.defaultPrevented && (state.edge || state.org)) {
    e.preventDefault();
    closePanel();
  }
});

window.addEventListener('popstate', () => {
  // A jump within the page (#graph) changes no state: nothing to reload.
  if (address(readAddress()) === address(state)) {
    return;
  }
  state = readAddress();
  changesSince = 0;
  load();
});

load();
