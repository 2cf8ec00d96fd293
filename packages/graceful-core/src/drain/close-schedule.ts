import type { Socket } from 'node:net'
import { announceCloseOn, type DrainableServer, keptAliveIdleMs, saidClose } from './node-http.js'
import type { Response } from './requests.js'

/**
 * When an HTTP/1 response announces `Connection: close` during a shutdown. From the signal
 * (keepNewConnections()) each connection open then leaves through its next response, once; the
 * connections accepted during pre-stop stay keep-alive until the drain begins (closeAll()), from
 * when every response announces the close. A client reusing a socket leaves through a response, and
 * one that reconnects to this instance while its load balancer has not caught up does not pay a new
 * connection (a TLS handshake) per request. Without `keepAliveInPreStop` (a cluster worker, a
 * socket-activated service: platform/host.ts) every response announces the close from the signal on.
 */
export class CloseSchedule {
  readonly #server: DrainableServer
  readonly #keepAliveInPreStop: boolean
  /** HTTP/1 sockets accepted during pre-stop. */
  readonly #acceptedInPreStop = new WeakSet<Socket>()
  /** True during pre-stop: the connections accepted now are kept alive. */
  #keeping = false

  constructor (server: DrainableServer, keepAliveInPreStop: boolean) {
    this.#server = server
    this.#keepAliveInPreStop = keepAliveInPreStop
  }

  /** Pre-stop began: connections accepted from now on are kept alive until closeAll(). */
  keepNewConnections (): void {
    this.#keeping = this.#keepAliveInPreStop
  }

  /** The drain began: every response from now on announces the close. */
  closeAll (): void {
    this.#keeping = false
  }

  /** A connection was accepted (after the signal). */
  accepted (socket: Socket): void {
    if (this.#keeping) this.#acceptedInPreStop.add(socket)
  }

  /** Sets `Connection: close` on an HTTP/1 response, unless its socket is kept alive through pre-stop. */
  announceOn (res: Response): void {
    if (!(this.#keeping && this.#acceptedInPreStop.has(res.req.socket as Socket))) announceCloseOn(res)
  }

  /**
   * How long the socket of an ended response may stay idle before the drain ends it: a response
   * that kept its socket alive through pre-stop leaves it idle for KEPT_ALIVE_IDLE_MS, undefined for
   * any other. Judged by what the response said, not by the phase now: its client took a keep-alive
   * head, written before the drain began, as leave to send again.
   */
  idleMsAfter (res: Response): number | undefined {
    const keptAlive = this.#acceptedInPreStop.has(res.req.socket as Socket) && !saidClose(res)
    return keptAlive ? keptAliveIdleMs(this.#server) : undefined
  }
}
