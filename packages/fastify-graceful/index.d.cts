// The CommonJS entry's types (see index.cjs): `import fastifyGraceful = require('fastify-graceful')`
// is the plugin, as are its `fastifyGraceful` and `default` properties.
import built = require('./dist/cjs/index.js')

type Plugin = typeof built.fastifyGraceful
declare const fastifyGraceful: Plugin & { readonly default: Plugin, readonly fastifyGraceful: Plugin }
declare namespace fastifyGraceful {
  export type FastifyGracefulOptions = built.FastifyGracefulOptions
}
export = fastifyGraceful
