/**
 * The roles the API is documented by, in the order /docs shows them. Every route carries exactly one
 * of these tags in its schema; the OpenAPI document lists them with their descriptions.
 */
export const Tag = {
  sharer: 'sharer',
  receiver: 'receiver',
  push: 'push',
  chat: 'chat',
  recordings: 'history and recordings',
  listenerPage: 'listener page',
  operators: 'operators'
} as const

export type RoleTag = typeof Tag[keyof typeof Tag]

export const ROLE_TAGS: ReadonlyArray<{ name: RoleTag, description: string }> = [
  {
    name: Tag.sharer,
    description: 'The desktop app that shares what it plays: start a session under a 6-digit id, send metadata and ' +
      'audio, stop. Bearer token; writes also need the session\'s `X-Sharer-Key` or the address that started it ' +
      '(`SESSION_WRITE_GUARD`).'
  },
  {
    name: Tag.receiver,
    description: 'Receivers that poll, as the desktop app does: status, metadata, and audio chunks after `since` ' +
      '(optionally long-polled with `waitMs`). Bearer token, or the session\'s listen key as `?key=`.'
  },
  {
    name: Tag.push,
    description: 'Delivery pushed to receivers: WebSocket (also for a sharer, with `role=sharer`), Server-Sent ' +
      'Events, an endless WAV stream, and the cover art their metadata links. Bearer token, or the listen key.'
  },
  {
    name: Tag.chat,
    description: 'Chat between the sharer and the listeners of a session: post and read with the bearer token or ' +
      'the listen key (with `X-Sharer-Key`, a post is the sharer\'s); delete a message or mute whoever sent it ' +
      'with `X-Sharer-Key`. Messages also reach WebSocket and SSE listeners as `chat` events.'
  },
  {
    name: Tag.recordings,
    description: 'What was played and what was recorded: the session\'s song history, its recording as one Ogg/Opus ' +
      'file (Range requests) and its chapters as a CUE sheet, with the bearer token or the listen key; the sharer ' +
      'turns recording off or on with `X-Sharer-Key`.'
  },
  {
    name: Tag.listenerPage,
    description: 'The browser page a listen link opens, and its assets. No credential: the page itself asks for ' +
      'the listen key and uses the push routes.'
  },
  {
    name: Tag.operators,
    description: 'Running the server: liveness and load (`/health`), Prometheus metrics (`/metrics`, see ' +
      '`METRICS_TOKEN`) and the list of sessions (bearer token).'
  }
]
