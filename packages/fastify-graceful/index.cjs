'use strict'
// The CommonJS entry: require('fastify-graceful') is the plugin itself, as a fastify plugin's is,
// with the named and the default export as its properties (dist/cjs is the compiled src/).
const { fastifyGraceful } = require('./dist/cjs/index.js')

module.exports = Object.assign(fastifyGraceful, { default: fastifyGraceful, fastifyGraceful })
