/** NestJS 12 (./package.json) and the copy of nestjs-graceful whose @nestjs peers are Nest 12 (injected). */
export * as common from '@nestjs/common'
export * as core from '@nestjs/core'
export * as graceful from 'nestjs-graceful'
export { ExpressAdapter } from '@nestjs/platform-express'
export { FastifyAdapter } from '@nestjs/platform-fastify'
