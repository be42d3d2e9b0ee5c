// The answer panel: what the API answered about the selected tie or organization, with its
// sources and the events it rests on — shown as given, never recomputed.

import { fill, h, link } from './dom.js';
import { capital, dateWithPrecision, eventWord, instant, kindWord, shareBounds, shareLabel, statusWord } from './words.js';

function header(title, ctx) {
  return h('div', { class: 'panel-head' },
    h('h2', { id: 'panel-title', text: title }),
    h('button', { type: 'button', class: 'close', 'aria-label': 'Close the answer (Escape)', onclick: ctx.onClose, text: '×' }));
}

function asOf(at, knownAt, ctx) {
  return h('p', { class: 'as-of' }, 'On ', h('strong', { text: at }), ', as known at ', h('strong', { text: instant(knownAt) }),
    ctx.live ? ' (now; follows new writes)' : ' (fixed: later writes do not change it)');
}

function row(term, ...value) {
  return [h('dt', { text: term }), h('dd', {}, ...value)];
}

function sourcesList(sources) {
  if (!sources.length) {
    return h('p', { class: 'none', text: 'No source.' });
  }
  return h('ul', { class: 'sources' }, sources.map((src) => h('li', { dataset: { source: src.id } },
    h('cite', { text: src.title }),
    h('span', { class: 'meta' },
      ` — ${src.publisher ?? 'publisher not given'} · ${src.published ? `published ${src.published}` : 'date not given'} · ${src.kind}`),
    h('span', { class: 'link' }, ' · ', src.url ? link(src.url) : 'no link'),
    h('span', { class: 'id', text: ` (${src.id})` }))));
}

function basisTable(basis, ctx) {
  if (!basis.length) {
    return h('p', { class: 'none', text: 'No event: the ledger had recorded nothing about it.' });
  }
  return h('table', { class: 'basis' },
    h('caption', { text: 'The events of the log this answer rests on' }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Sequence' }), h('th', { scope: 'col', text: 'Event' }),
      h('th', { scope: 'col', text: 'Recorded at' }))),
    h('tbody', {}, basis.map((b) => h('tr', { dataset: { sequence: b.sequence } },
      h('td', { text: `#${b.sequence}` }),
      h('td', {}, eventDetails(b, ctx)),
      h('td', { text: instant(b.recordedAt) })))));
}

function eventDetails(b, ctx) {
  const pre = h('pre', { text: 'Loading…' });
  const details = h('details', {}, h('summary', {}, `${eventWord(b.type)} `, h('span', { class: 'id', text: b.eventId })), pre);
  details.addEventListener('toggle', async () => {
    if (!details.open || details.dataset.loaded) {
      return;
    }
    details.dataset.loaded = 'yes';
    try {
      const [event] = await ctx.loadEvent(b.sequence);
      pre.textContent = JSON.stringify(event, null, 2);
    } catch (e) {
      pre.textContent = `Could not load the event: ${e.message}`;
    }
  });
  return details;
}

function alternatives(list) {
  return [h('h3', { text: 'The sizes the sources give' }),
    h('ul', {}, list.map((a) => h('li', {}, `${shareLabel(a.share)} — fact ${a.fact}, sources: ${a.sources.join(', ')}`)))];
}

function pairButton(holder, subject, ctx) {
  return h('button', { type: 'button', class: 'link-button', onclick: () => ctx.onShowTimeline(holder, subject),
    text: `Show the timeline of ${ctx.name(holder)}'s stake in ${ctx.name(subject)}` });
}

/** A stake: the headline answer (DESIGN §4) for the pair at at/knownAt. */
export function renderHolding(panel, a, ctx) {
  fill(panel,
    header(`Stake: ${ctx.name(a.holder)} → ${ctx.name(a.subject)}`, ctx),
    asOf(a.at, a.knownAt, ctx),
    h('dl', { class: 'answer' },
      row('Status', h('span', { class: `status status-${a.status}`, text: statusWord(a.status).toUpperCase() })),
      row('Share', a.share ? `${shareLabel(a.share)} (${shareBounds(a.share)})` : (a.status === 'held' || a.status === 'uncertain' ? shareBounds(null) : '—')),
      row('Since', dateWithPrecision(a.since) ?? '—'),
      row('Until', dateWithPrecision(a.until) ?? (a.status === 'held' ? 'no end recorded' : '—')),
      row('Confidence', a.confidence ?? '—')),
    h('p', { class: 'explanation', text: a.explanation }),
    a.alternatives ? alternatives(a.alternatives) : null,
    h('h3', { text: `Sources (${a.sources.length})` }), sourcesList(a.sources),
    h('h3', { text: `Basis (${a.basis.length} ${a.basis.length === 1 ? 'event' : 'events'})` }), basisTable(a.basis, ctx),
    pairButton(a.holder, a.subject, ctx));
  panel.dataset.kind = 'stake';
}

/** Any other tie, as the relationships answer of its first organization gives it. */
export function renderTie(panel, r, answer, from, ctx) {
  const others = r.counterparties.map(ctx.name);
  const ends = r.direction === 'incoming' ? `${others.join(', ')} → ${ctx.name(from)}`
    : r.direction === 'outgoing' ? `${ctx.name(from)} → ${others.join(', ')}`
      : [ctx.name(from), ...others].join(' and ');
  const since = r.since ? (r.startUnknown ? `in force by ${dateWithPrecision(r.since)}; the start is not given` : dateWithPrecision(r.since)) : '—';
  fill(panel,
    header(`${capital(kindWord(r.type))}: ${ends}`, ctx),
    asOf(answer.at, answer.knownAt, ctx),
    h('dl', { class: 'answer' },
      row('Status', h('span', { class: `status status-${r.status}`, text: statusWord(r.status).toUpperCase() }),
        r.status === 'uncertain' ? ' — the ledger cannot tell whether it was in force on this date' : ''),
      r.type === 'stake' ? row('Share', shareLabel(r.share)) : null,
      row('Since', since),
      row('Until', dateWithPrecision(r.until) ?? 'no end recorded'),
      row('Confidence', r.confidence ?? '—')),
    h('p', { class: 'explanation', text: r.summary }),
    r.inheritedFrom ? h('p', { class: 'inherited', text: `Inherited: held as the successor of ${ctx.name(r.inheritedFrom)}; the tie's words are its predecessor's.` }) : null,
    r.wentTo ? h('p', { class: 'went-to', text: `Went to ${r.wentTo.map(ctx.name).join(', ')} by succession.` }) : null,
    r.converted?.length ? h('ul', { class: 'converted' }, r.converted.map((x) => h('li', { text: x.explanation }))) : null,
    h('h3', { text: `Sources (${r.sources.length})` }), sourcesList(r.sources),
    h('h3', { text: `Basis (${r.basis.length} ${r.basis.length === 1 ? 'event' : 'events'})` }), basisTable(r.basis, ctx));
  panel.dataset.kind = r.type;
}

/** A tie that is not in force on the date asked (or not yet recorded then). */
export function renderNotInForce(panel, fact, type, at, knownAt, ctx) {
  fill(panel,
    header(`${capital(kindWord(type ?? 'tie'))} ${fact}`, ctx),
    asOf(at, knownAt, ctx),
    h('p', { class: 'explanation', text: `This ${kindWord(type ?? 'tie')} is not in force on ${at}, or the ledger had not recorded it by then. Pick another date, or another tie.` }));
  panel.dataset.kind = 'none';
}

/**
 * Who owns the organization directly or through chains of stakes (the API's look-through answer, as given):
 * each owner's share, whether it is ultimate, and its strongest chain, which the graph can mark.
 */
function ownersThrough(answer, ctx) {
  const owners = answer.owners;
  return h('section', { class: 'through', 'aria-labelledby': 'through-title' },
    h('h3', { id: 'through-title', text: `Owners through chains of up to ${answer.depth} stakes (${owners.length})` }),
    owners.length
      ? h('ol', { class: 'through-list' }, owners.slice(0, 12).map((o) => {
        const path = o.paths[0];
        const chain = path ? [path.edges[0].holder, ...path.edges.map((e) => e.subject)] : [];
        return h('li', { dataset: { owner: o.owner } },
          h('strong', { text: o.name }),
          ` — ${shareLabel(o.share)} through chains${o.direct ? `, ${shareLabel(o.direct)} directly` : ''}${o.ultimate ? '; ultimate owner' : ''}`,
          path && path.edges.length > 1
            ? [' ', h('button', { type: 'button', class: 'link-button small chain-button', onclick: () => ctx.onShowChain(chain), text: `show the chain ${chain.map(ctx.name).join(' → ')}` })]
            : null);
      }))
      : h('p', { class: 'none', text: 'No owner recorded on this date, directly or through chains.' }),
    answer.cycles.length
      ? h('p', { class: 'meta', text: `Cross-holdings: ${answer.cycles.map((c) => c.organizations.map(ctx.name).join(' ⇄ ')).join('; ')}` })
      : null,
    answer.stated.length
      ? [h('h4', { text: `Stated to hold it indirectly (${answer.stated.length})` }),
        h('ul', { class: 'stated-list' }, answer.stated.map((x) => h('li', { class: x.allowed === false ? 'flagged' : null, dataset: { fact: x.fact } },
          h('strong', { text: x.name }),
          ` — ${shareLabel(x.stated)} stated; ${x.computed ? `the chains of stakes give ${shareLabel(x.computed)}` : 'no chain of stakes reaches'}` +
          `${x.control ? ', and a control chain of unstated share joins them' : ''}` +
          `${x.allowed === false ? ': the chains do not allow what is stated' : x.allowed === null ? ' (not checked: chains longer than the depth asked were not followed)' : ''}`)))]
      : null);
}

/** An organization: its profile and every tie on the date, each one selectable; its owners through chains when the API gave them. */
export function renderOrganization(panel, answer, ctx, through) {
  const o = answer.organization;
  const ids = Object.entries(o.identifiers ?? {});
  fill(panel,
    header(o.name, ctx),
    asOf(answer.at, answer.knownAt, ctx),
    h('dl', { class: 'answer' },
      row('Id', o.id),
      row('Kind', o.kind),
      o.country ? row('Country', o.country) : null,
      o.aliases.length ? row('Also called', o.aliases.join(', ')) : null,
      ids.length ? row('Identifiers', ids.map(([k, v]) => `${k}: ${v}`).join(', ')) : null),
    ctx.onCentre && o.id !== ctx.around
      ? h('p', {}, h('button', { type: 'button', class: 'centre-here', onclick: () => ctx.onCentre(o.id), text: `Show the organizations tied to ${o.name}` }))
      : null,
    h('h3', { text: `Ties on this date (${answer.page?.next != null ? `the first ${answer.relationships.length} of ${answer.page.total}` : answer.relationships.length})` }),
    answer.relationships.length
      ? h('ul', { class: 'ties-list' }, answer.relationships.map((r) => {
        // An inherited tie is its predecessor's: its ends, its timeline.
        const own = r.inheritedFrom ?? o.id;
        return h('li', {},
          h('button', { type: 'button', class: 'link-button', onclick: () => ctx.onSelectFact(r.fact, r.type, own, r), text: r.summary }),
          h('span', { class: 'meta', text: ` — ${[kindWord(r.type), r.type === 'announcement' ? null : r.direction, statusWord(r.status), r.confidence ?? 'no confidence'].filter(Boolean).join(', ')}` }),
          r.inheritedFrom ? h('span', { class: 'meta inherited', text: ` — inherited: held as the successor of ${ctx.name(r.inheritedFrom)}` }) : null,
          r.wentTo ? h('span', { class: 'meta went-to', text: ` — went to ${r.wentTo.map(ctx.name).join(', ')} by succession` }) : null,
          r.type === 'stake' ? [' ', h('button', { type: 'button', class: 'link-button small',
            onclick: () => ctx.onShowTimeline(r.direction === 'incoming' ? r.counterparties[0] : own, r.direction === 'incoming' ? own : r.counterparties[0]),
            text: 'timeline' })] : null);
      }))
      : h('p', { class: 'none', text: 'No tie in force on this date.' }),
    through ? ownersThrough(through, ctx) : null);
  panel.dataset.kind = 'organization';
}

export function renderLoading(panel, title, ctx) {
  fill(panel, header(title, ctx), h('p', { class: 'loading', text: 'Asking the ledger…' }));
}

export function renderError(panel, title, error, ctx) {
  fill(panel, header(title, ctx), h('p', { class: 'error', role: 'alert', text: error.message }));
}
