// The catalog's topics, read once per page: titles for lists that carry
// only topic ids.

import { api, can } from './lib.js';

let topics = null;
let byId = new Map();

/** loadTopics returns every topic (all kinds), fetched once. */
export async function loadTopics() {
  if (!topics && !can('read:catalog')) topics = Promise.resolve([]);
  if (!topics) {
    topics = api('GET', '/api/v1/catalog/topics').then((list) => {
      byId = new Map(list.map((t) => [t.id, t]));
      return list;
    }).catch(() => []);
  }
  return topics;
}

/** topicTitle is the title of a topic id (the id itself until loaded). */
export function topicTitle(id) {
  const t = byId.get(id);
  return t ? t.title : id || '';
}
