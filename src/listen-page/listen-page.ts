/**
 * The listener page's HTML. The markup is rendered here (no template engine: two small pages); the
 * behaviour is web/listen/main.ts, bundled by scripts/build-web.mjs. Nothing inline: the CSP allows
 * only this server's own scripts and styles.
 */

export interface PageAssets {
  /** URL prefix of the hashed assets, e.g. `/listen/assets/`. */
  assetBase: string
  /** `${basePath}`: where the API lives. */
  basePath: string
  listen: string
  worklet: string
  style: string
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

/** The page icon (a note on the accent colour), so browsers do not ask for /favicon.ico. */
export const ICON_SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="14" fill="#5eead4"/>' +
  '<path d="M26 44a7 7 0 1 1-4-6.3V16l22-5v27a7 7 0 1 1-4-6.3V18.2l-14 3.2z" fill="#05201c"/></svg>'

/** The `<html>` around a page of this server: its stylesheet, the icon, nothing inline. */
export function shell (assets: Pick<PageAssets, 'assetBase' | 'basePath' | 'style'>, title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<link rel="icon" type="image/svg+xml" href="${escapeHtml(assets.basePath)}/listen/icon.svg">
<link rel="stylesheet" href="${escapeHtml(assets.assetBase + assets.style)}">
${head}</head>
${body}
</html>
`
}

/** The player: `/listen/{id}?key=…`. The script reads the id from the path and the key from the query. */
export function playerPage (assets: PageAssets): string {
  const head = `<meta name="music-share-base" content="${escapeHtml(assets.basePath)}">
<meta name="music-share-worklet" content="${escapeHtml(assets.assetBase + assets.worklet)}">
<script type="module" src="${escapeHtml(assets.assetBase + assets.listen)}"></script>
`
  const body = `<body data-state="connecting">
<main class="page">
  <header class="brand">
    <h1>Music Share</h1>
    <div class="status" id="status" role="status" aria-live="polite"><span class="dot" aria-hidden="true"></span><span id="status-text">Connecting…</span></div>
  </header>
  <section class="error" id="error" hidden aria-labelledby="error-title">
    <h2 id="error-title">Cannot listen to this share</h2>
    <p id="error-text"></p>
    <p><a href="${escapeHtml(assets.basePath)}/listen">Enter a code and key</a></p>
  </section>
  <section class="now" aria-label="Now playing">
    <div class="art"><img id="cover" alt="" hidden><span class="note" aria-hidden="true">♪</span></div>
    <div>
      <h2 class="title" id="title">Waiting for the song…</h2>
      <p class="artist" id="artist"></p>
    </div>
    <div>
      <div class="progress" id="progress" role="progressbar" aria-label="Song progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div class="progress-fill" id="progress-fill"></div></div>
      <div class="times"><span id="elapsed">0:00</span><span id="total">0:00</span></div>
    </div>
    <div class="controls">
      <button class="start" id="start" type="button" hidden>Tap to listen</button>
      <label class="volume" for="volume">Volume <input id="volume" type="range" min="0" max="100" value="80" step="1" aria-valuetext="80 %"></label>
    </div>
    <div class="meter" aria-label="Connection">
      <div class="row"><span id="latency">Not playing yet</span><span id="listeners"></span></div>
      <div class="buffer" title="Audio buffered ahead"><div class="buffer-fill" id="buffer-fill"></div></div>
      <div class="row"><span id="quality"></span><span id="decoder"></span></div>
    </div>
    <a class="download" id="download" hidden download>Download recording</a>
  </section>
  <section class="lyrics" id="lyrics" aria-label="Lyrics" tabindex="0" data-kind="none"><p class="quiet">No lyrics yet</p></section>
  <section class="chat" id="chat" aria-labelledby="chat-title">
    <h2 id="chat-title">Chat</h2>
    <ol class="chat-log" id="chat-log" role="log" aria-live="polite" tabindex="0"></ol>
    <p class="chat-note" id="chat-note" role="status"></p>
    <form class="chat-form" id="chat-join">
      <input id="chat-name" maxlength="32" autocomplete="nickname" spellcheck="false" required placeholder="Your name" aria-label="Your name for the chat">
      <button type="submit">Join the chat</button>
    </form>
    <form class="chat-form" id="chat-send" hidden>
      <input id="chat-text" maxlength="500" autocomplete="off" required placeholder="Say something" aria-label="Message">
      <button type="submit">Send</button>
    </form>
    <p class="chat-as" id="chat-as" hidden>Chatting as <span id="chat-as-name" dir="auto"></span> · <button class="link" type="button" id="chat-rename">change name</button></p>
  <section class="played" id="played" aria-labelledby="played-title" hidden>
    <h2 id="played-title">Played so far</h2>
    <ol id="played-list"></ol>
  </section>
</main>
</body>`
  return shell(assets, 'Music Share', head, body)
}

/** The join form: `/listen`. A plain GET form, so it works before (and without) any script. */
export function joinPage (assets: PageAssets, problem?: string, code = ''): string {
  const error = problem === undefined ? '' : `<p class="form-error" role="alert">${escapeHtml(problem)}</p>\n`
  const body = `<body data-state="join">
<main class="page">
  <header class="brand"><h1>Music Share</h1></header>
  <form class="join" method="get" action="${escapeHtml(assets.basePath)}/listen">
    <h2>Listen along</h2>
    ${error}<label>Share code
      <input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="off" required value="${escapeHtml(code)}" aria-describedby="code-hint">
    </label>
    <p class="hint" id="code-hint">The 6 digits the sharer sees in their app.</p>
    <label>Listen key
      <input name="key" autocomplete="off" spellcheck="false" required maxlength="128">
    </label>
    <p class="hint">The key from the sharer's link (the part after <code>?key=</code>).</p>
    <button class="start" type="submit">Open the player</button>
  </form>
</main>
</body>`
  return shell(assets, 'Music Share: listen along', '', body)
}
