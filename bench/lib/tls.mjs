// TLS for the rolling update's TLS rows: a throwaway self-signed certificate for 127.0.0.1, made
// with openssl into a temp dir when the bench starts and removed when it ends (no key material in
// the repository), and the undici connector every pool to a pod uses, which logs each connection it
// opens (plain or TLS): what graceful's `Connection: close` during pre-stop costs is new connections.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSecureContext } from 'node:tls'
import { buildConnector } from 'undici'

let made = null

/**
 * The certificate (RSA 2048, the common default of openssl and cert-manager; SAN IP:127.0.0.1,
 * valid one day): { keyFile, certFile, ca } for the pods and the clients, or { skipped: reason }
 * when openssl is missing or fails. Made once per bench process.
 */
export function benchCert () {
  if (made) return made
  let dir
  try {
    dir = mkdtempSync(join(tmpdir(), 'graceful-bench-tls-'))
    const keyFile = join(dir, 'key.pem')
    const certFile = join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' })
    made = { dir, keyFile, certFile, ca: readFileSync(certFile, 'utf8') }
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  } catch (err) {
    if (dir) rmSync(dir, { recursive: true, force: true })
    made = { skipped: err.code === 'ENOENT' ? 'openssl not found: the TLS rows are skipped' : `openssl failed (${String(err.stderr || err.message).trim().split('\n')[0]}): the TLS rows are skipped` }
  }
  return made
}

/**
 * An undici `connect` function for one pool to one pod: TLS verified against the bench's CA when
 * `ca` is given (the origin is then https:), and each connection logged once connected (TCP and
 * TLS handshakes done) into `conns` (createConnectionLog). One connector per pool: undici caches
 * TLS sessions per connector and host name, and every pod is 127.0.0.1, so a shared cache would
 * offer one pod's session to the other. One secure context per connector too: given `ca` alone,
 * tls.connect() builds a context (and parses the CA) for every connection, ~1.5 ms of the client's
 * CPU each on this machine, which an ingress or a mesh proxy does not pay and which would be counted
 * against the pods.
 */
export function podConnector ({ ca, conns, pod, via }) {
  const connect = buildConnector(ca ? { secureContext: createSecureContext({ ca }) } : {})
  return (opts, callback) => {
    const started = performance.now()
    return connect(opts, (err, socket) => {
      if (!err && conns) conns.add(pod, via, started, performance.now() - started, !!ca, ca ? socket.isSessionReused() : false)
      callback(err, socket)
    })
  }
}

/** The origin of a pod's port, https when TLS is on. */
export const podOrigin = (port, ca) => `${ca ? 'https' : 'http'}://127.0.0.1:${port}`
