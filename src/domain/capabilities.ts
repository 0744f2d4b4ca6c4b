/**
 * Linux capability names as Docker's `CapAdd` / `CapDrop` take them
 * (contract §12): `ALL`, or a capability the kernel defines, with or without
 * its `CAP_` prefix, in any case. The daemon refuses an unknown name only when
 * a container is created, so a typo would fail every start; configuration
 * refuses it at boot instead.
 */
const LINUX_CAPABILITIES = new Set([
  'AUDIT_CONTROL',
  'AUDIT_READ',
  'AUDIT_WRITE',
  'BLOCK_SUSPEND',
  'BPF',
  'CHECKPOINT_RESTORE',
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'IPC_LOCK',
  'IPC_OWNER',
  'KILL',
  'LEASE',
  'LINUX_IMMUTABLE',
  'MAC_ADMIN',
  'MAC_OVERRIDE',
  'MKNOD',
  'NET_ADMIN',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_RAW',
  'PERFMON',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_CHROOT',
  'SYS_MODULE',
  'SYS_NICE',
  'SYS_PACCT',
  'SYS_PTRACE',
  'SYS_RAWIO',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'SYSLOG',
  'WAKE_ALARM',
]);

/** `ALL` or a capability's name, upper case without `CAP_`; null when it is neither. */
function capabilityName(raw: string): string | null {
  const name = raw.trim().toUpperCase().replace(/^CAP_/, '');
  return name === 'ALL' || LINUX_CAPABILITIES.has(name) ? name : null;
}

/** A comma list of capabilities, each as `capabilityName` writes it, duplicates once; null when any item is not one. Empty = none. */
export function parseCapabilities(list: string): string[] | null {
  if (list.trim() === '') return [];
  const names = list.split(',').map(capabilityName);
  if (names.some((name) => name === null)) return null;
  return [...new Set(names as string[])];
}
