/**
 * Docker's size strings (`512m`, `1g`, `64MiB`, `1048576`), as the engine's
 * own RAMInBytes reads them: binary multipliers, an optional `i` and `b`.
 * Returns bytes, or null when the string is not a size.
 */
const SIZE = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i;
const MULTIPLIER: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

export function parseDockerSize(raw: string): number | null {
  const bytes = dockerSizeBytes(raw);
  return bytes !== null && Number.isSafeInteger(bytes) ? bytes : null;
}

/**
 * The bytes a size string names however large, past the safe integers (a
 * ceiling must still see that `99999999p` is above it); null when it is not a size.
 */
export function dockerSizeBytes(raw: string): number | null {
  const match = SIZE.exec(raw.trim());
  if (!match) return null;
  const value = Number(match[1]);
  const unit = match[2]?.toLowerCase();
  return Math.trunc(value * (unit ? (MULTIPLIER[unit] ?? 1) : 1));
}
