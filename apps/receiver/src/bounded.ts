/**
 * Sets `key` as the newest entry of `map`, then drops the oldest entries past `maxEntries`: the
 * bound of the receiver's caches (sessions, refusals, productions). A Map iterates in insertion order,
 * and deleting the key just visited is safe.
 */
export function setNewest<K, V>(map: Map<K, V>, key: K, value: V, maxEntries: number): void {
  map.delete(key);
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= maxEntries) break;
    map.delete(oldest);
  }
}
