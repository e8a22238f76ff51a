import { Type, type Static, type TSchema } from '@sinclair/typebox'

export const SessionId = Type.String({
  pattern: '^[0-9]{6}$',
  description: 'exactly six ASCII digits',
  examples: ['123456']
})

export const SessionParams = Type.Object({ sessionId: SessionId })
export type SessionParams = Static<typeof SessionParams>

/** Unix time in milliseconds. */
export const UnixMs = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, examples: [1234567890123] })

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

const errorFields = {
  success: Type.Literal(false),
  error: Type.String({ description: 'human-readable message' }),
  code: Type.String({ description: 'machine-readable error code', examples: ['SESSION_NOT_FOUND'] }),
  timestamp: UnixMs
}

/** The uniform error body; registered once with addSchema and used through ErrorRef. */
export const ErrorResponse = Type.Object(errorFields, { $id: 'ErrorResponse', title: 'ErrorResponse' })
export type ErrorResponse = Static<typeof ErrorResponse>
export const ErrorRef = Type.Unsafe<ErrorResponse>(Type.Ref('ErrorResponse'))

/** The uniform error body plus `isActive:false`, as the spec shows for the status 404. */
export const InactiveErrorResponse = Type.Object({ ...errorFields, isActive: Type.Literal(false) })

/** Response map entries every route shares. */
export const errorResponses = { '4xx': ErrorRef, '5xx': ErrorRef } as const
