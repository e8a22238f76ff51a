import { createHash } from 'node:crypto'

/**
 * The name of a cover image: a hash of its decoded bytes (base64url, 32 characters), so the same picture
 * has the same name whatever base64 it came in. The push hub serves covers by it (`/art/:hash`) and the
 * song history keeps it for each play. Null for no cover.
 */
export function coverHash (thumbnailData: string | null): string | null {
  const bytes = coverBytes(thumbnailData)
  return bytes.length === 0 ? null : hashOf(bytes)
}

/** The decoded image (empty for none). */
export function coverBytes (thumbnailData: string | null): Buffer {
  return thumbnailData === null ? Buffer.alloc(0) : Buffer.from(thumbnailData, 'base64')
}

export function hashOf (bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64url').slice(0, 32)
}
