/**
 * Listeners whose socket this process did not create: systemd socket activation (`LISTEN_FDS`,
 * `server.listen({ fd: 3 })`), a socket passed by a parent (`listen({ fd })`, `listen(handle)`, a
 * server received over IPC). Such a socket is shared: it outlives this process, and the next
 * instance accepts from the same queue. Closing our copy resets nothing (the holder keeps the socket
 * open), but changing its backlog would shrink the queue the next instance inherits, so the drain
 * must not re-listen on it.
 * @module
 */

interface MaybeInherited {
  readonly _connectionKey?: unknown
  readonly _handle?: { readonly fd?: unknown } | null
}

/** The first fd systemd passes (SD_LISTEN_FDS_START). */
const SD_LISTEN_FDS_START = 3

/**
 * True when the server listens on a socket it did not bind itself. Node records how a server
 * listened in `_connectionKey` (not public API, so feature-detected): `null:null:null` after
 * `listen({ fd })`, `-1:null:-1` after `listen(handle)`. Without it, a listener on one of the fds
 * systemd passed (`LISTEN_FDS` from fd 3 on) counts as inherited.
 */
export function isInheritedListener (server: object, env: NodeJS.ProcessEnv = process.env): boolean {
  const { _connectionKey: key, _handle: handle } = server as MaybeInherited
  if (typeof key === 'string' && /^(null|-1):null:/.test(key)) return true
  const fd = handle?.fd
  const count = Number(env.LISTEN_FDS)
  return typeof fd === 'number' && count > 0 && fd >= SD_LISTEN_FDS_START && fd < SD_LISTEN_FDS_START + count
}
