import { escapeHtml, shell } from './listen-page.js'

export interface StatsPageAssets {
  /** URL prefix of the hashed assets, e.g. `/stats/assets/`. */
  assetBase: string
  basePath: string
  /** The page's script and stylesheet (hashed names). */
  stats: string
  style: string
}

const PERIODS = [['day', 'Today'], ['week', '7 days'], ['month', '30 days'], ['all', 'All time']] as const

/**
 * The statistics page: `/stats`. Its script (web/stats/main.ts) asks for the token, reads /api/stats
 * and fills in the tiles, charts, top songs and sessions; the markup here holds no data.
 */
export function statsPage (assets: StatsPageAssets): string {
  const head = `<meta name="music-share-base" content="${escapeHtml(assets.basePath)}">
<script type="module" src="${escapeHtml(assets.assetBase + assets.stats)}"></script>
`
  const periods = PERIODS.map(([period, label]) =>
    `<button type="button" data-period="${period}" aria-pressed="${period === 'week'}">${label}</button>`).join('')
  const body = `<body data-state="loading">
<main class="stats">
  <header class="brand">
    <h1>Music Share <span>· listening statistics</span></h1>
    <nav class="periods" aria-label="Period">${periods}</nav>
  </header>
  <form class="token" id="token-form" hidden>
    <label for="token">Token (the server's bearer token, or STATS_TOKEN)</label>
    <input id="token" type="password" autocomplete="off" spellcheck="false" required maxlength="256">
    <p class="form-error" id="token-error" role="alert"></p>
    <button type="submit">Show statistics</button>
  </form>
  <p class="problem" id="problem" role="alert" hidden></p>
  <div class="content" id="content" hidden>
    <dl class="tiles wide" id="tiles" aria-label="Totals"></dl>
    <section class="panel"><h2>Listeners per day</h2><div class="chart" id="listeners-chart"></div></section>
    <section class="panel"><h2>Sessions per day</h2><div class="chart" id="sessions-chart"></div></section>
    <section class="panel"><h2>Top songs by plays</h2><ol class="bars" id="top-plays"></ol></section>
    <section class="panel"><h2>Top songs by listener-minutes</h2><ol class="bars" id="top-minutes"></ol></section>
    <section class="panel wide"><h2>Sessions</h2>
      <table><thead><tr><th>Started</th><th>Code</th><th>Length</th><th>Plays</th><th>Listeners</th><th>Average</th><th>End</th></tr></thead>
      <tbody id="sessions-body"></tbody></table>
    </section>
    <p class="recorder wide" id="recorder"></p>
  </div>
</main>
</body>`
  return shell({ assetBase: assets.assetBase, basePath: assets.basePath, style: assets.style }, 'Music Share: listening statistics', head, body)
}
