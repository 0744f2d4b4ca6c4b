/**
 * Comma-separated `key=value` lists: Docker log options, the extra labels of
 * engine containers, the crash test's `game:step` pairs. One parser for all
 * of them, so they cannot disagree about spaces, empty keys or a `=` inside
 * a value.
 */

/**
 * `key=value,key2=value2` → map, as the reference's parseLogOpts: entries
 * without the separator or with an empty key are skipped; the value may
 * contain the separator; a later key wins.
 */
export function parseKeyValues(raw: string, separator = '='): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    const entry = part.trim();
    const index = entry.indexOf(separator);
    if (index <= 0) continue;
    out[entry.slice(0, index)] = entry.slice(index + 1);
  }
  return out;
}

/**
 * What configuration accepts: blank, or every entry a key without spaces,
 * the separator, a value. The parser above would silently skip the rest,
 * and an operator's typo should stop boot instead.
 */
export function isKeyValueList(raw: string, separator = '='): boolean {
  if (raw.trim() === '') return true;
  return raw.split(',').every((part) => {
    const entry = part.trim();
    const index = entry.indexOf(separator);
    return index > 0 && !/\s/.test(entry.slice(0, index));
  });
}
