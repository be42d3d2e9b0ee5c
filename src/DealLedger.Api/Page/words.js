// How the page writes the API's values for people. Display only: every status, share, date and
// confidence shown comes from an API answer as it is; nothing here decides anything.

const KINDS = { 'board-seat': 'board seat', 'indirect-stake': 'stated indirect stake', 'owners-undisclosed': 'owners not disclosed', succession: 'succession', name: 'name', identifier: 'identifier', 'exchange-rate': 'exchange rate' };

export function kindWord(type) {
  return KINDS[type] ?? type;
}

export function capital(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : text;
}

const STATUS = {
  held: 'held',
  'not-held': 'not held',
  uncertain: 'uncertain',
  unknown: 'unknown',
  'in-force': 'in force',
};

export function statusWord(status) {
  return STATUS[status] ?? status;
}

function percent(value) {
  // The API's numbers as they are: 0.8 stays 0.8, 50 stays 50.
  return `${Number(value).toLocaleString('en', { maximumFractionDigits: 4 })}`;
}

/** A stake's size in short: "0.8 %", "0–50 %, small minority stake"; null is a disputed size. */
export function shareLabel(share) {
  if (!share) {
    return 'disputed size';
  }
  let size;
  if (share.exact !== null && share.exact !== undefined) {
    size = `${percent(share.exact)} %`;
  } else {
    size = `${percent(share.min ?? 0)}–${percent(share.max ?? 100)} %`;
  }
  return share.wording ? `${size}, ${share.wording}` : size;
}

/** The ends of a range spelled out: "more than 0 % and less than 50 %". */
export function shareBounds(share) {
  if (!share) {
    return 'disputed: the sources give incompatible sizes';
  }
  if (share.exact !== null && share.exact !== undefined) {
    return `exactly ${percent(share.exact)} %`;
  }
  const low = share.min ?? 0;
  const high = share.max ?? 100;
  const lower = `${share.minInclusive ? 'at least' : 'more than'} ${percent(low)} %`;
  const upper = `${share.maxInclusive ? 'at most' : 'less than'} ${percent(high)} %`;
  return `${lower} and ${upper}`;
}

/** "2024-02 (month precision)". */
export function dateWithPrecision(d) {
  return d ? `${d.date} (${d.precision} precision)` : null;
}

/** A recorded instant as the API gives it, easier on the eye: "2026-11-23 03:55:18.392204 UTC". */
export function instant(text) {
  return text ? text.replace('T', ' ').replace(/Z$/, ' UTC') : '';
}

/** Event types as the log names them, in words: fact_corrected → "correction". */
export function eventWord(type) {
  return {
    fact_recorded: 'fact recorded',
    source_added_to_fact: 'source added',
    fact_corrected: 'correction',
    fact_retracted: 'retraction',
    fact_ended: 'ending',
    deal_recorded: 'deal recorded',
    organization_registered: 'organization registered',
    source_registered: 'source registered',
  }[type] ?? type.replaceAll('_', ' ');
}

/** For search: lower case, without accents, so "schweiz" finds "die Schweiz" and "bürger" finds "Burger". */
export function fold(text) {
  return (text ?? '').normalize('NFD').replace(/\p{Diacritic}/gu, '').toLowerCase();
}
