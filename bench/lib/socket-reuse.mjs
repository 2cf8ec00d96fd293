// Tells, for a failed undici request, whether it failed on a fresh connection, on a reused
// keep-alive connection, or before it was sent at all (connect error). Uses undici's
// diagnostics channels; costs two WeakMap writes per request.
import diagnostics from 'node:diagnostics_channel'

const usesBySocket = new WeakMap()
const useOfRequest = new WeakMap()
const verdictOfError = new WeakMap()

diagnostics.subscribe('undici:client:sendHeaders', ({ request, socket }) => {
  const n = (usesBySocket.get(socket) ?? 0) + 1
  usesBySocket.set(socket, n)
  useOfRequest.set(request, n)
})
diagnostics.subscribe('undici:request:error', ({ request, error }) => {
  if (!error || typeof error !== 'object') return
  const n = useOfRequest.get(request)
  verdictOfError.set(error, n === undefined ? 'not sent' : n === 1 ? 'new socket' : 'reused socket')
})

/** 'new socket' | 'reused socket' | 'not sent' | undefined */
export const socketVerdict = (error) => (error && typeof error === 'object' ? verdictOfError.get(error) : undefined)
