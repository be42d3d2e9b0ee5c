// Reading the DealLedger API: JSON answers, problem details as errors, and the API key (kept in
// this tab's sessionStorage and sent as X-Api-Key, never put in a URL).

const KEY = 'dealledger.apiKey';

export function apiKey() {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key) {
  if (key) {
    sessionStorage.setItem(KEY, key);
  } else {
    sessionStorage.removeItem(KEY);
  }
}

/** An answer other than 2xx: its status and RFC 9457 problem details (title, detail, field). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The API answered ${status}.`);
    this.status = status;
    this.problem = problem;
  }
}

export function headers(extra = {}) {
  const h = { Accept: 'application/json', ...extra };
  const key = apiKey();
  if (key) {
    h['X-Api-Key'] = key;
  }
  return h;
}

/** A query string of the parameters that are set, in the order given. */
export function query(params = {}) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

export async function getJson(path, params, signal) {
  const response = await fetch(path + query(params), { headers: headers(), signal, cache: 'no-store' });
  if (!response.ok) {
    let problem = null;
    try {
      problem = await response.json();
    } catch {
      // Not problem details (a proxy's page, say): the status alone tells.
    }
    throw new ApiError(response.status, problem);
  }
  return response.json();
}

const slug = (s) => encodeURIComponent(s);

export const api = {
  graph: ({ around, hops, at, knownAt, limit }, signal) => getJson('/api/graph', { around, hops, at, knownAt, limit }, signal),
  search: (q, knownAt, limit, signal) => getJson('/api/organizations', { q, knownAt, limit }, signal),
  holding: (holder, subject, at, knownAt, signal) =>
    getJson(`/api/holdings/${slug(holder)}/${slug(subject)}`, { at, knownAt }, signal),
  history: (holder, subject, knownAt, signal) =>
    getJson(`/api/holdings/${slug(holder)}/${slug(subject)}/history`, { knownAt }, signal),
  relationships: (org, at, knownAt, signal, fact) =>
    getJson(`/api/organizations/${slug(org)}/relationships`, { at, knownAt, fact }, signal),
  ownersThrough: (org, at, knownAt, depth, signal) =>
    getJson(`/api/organizations/${slug(org)}/owners`, { through: 'true', depth, at, knownAt }, signal),
  fact: (fact, signal) => getJson(`/api/facts/${slug(fact)}`, {}, signal),
  event: (sequence, signal) => getJson('/api/events', { after: sequence - 1, limit: 1 }, signal),
  feedHead: (signal) => getJson('/api/feed', { after: 0, limit: 1 }, signal),
  changes: ({ knownFrom, knownTo, at, toAt, knownAt, org, limit }, signal) =>
    getJson('/api/changes', { knownFrom, knownTo, at, toAt, knownAt, org, limit }, signal),
};
