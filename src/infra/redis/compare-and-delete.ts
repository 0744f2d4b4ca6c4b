/**
 * Deletes KEYS[1] only while it still holds ARGV[1] (the caller's token):
 * the release of a lease or a mutex by its holder, never by someone whose
 * hold has lapsed and been taken over. 1 when deleted, else 0.
 */
export const COMPARE_AND_DELETE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
