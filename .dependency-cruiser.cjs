/**
 * The floor plan, enforced (npm run lint): imports point down only,
 * server.ts -> app.ts -> routes/ -> plugins/ -> src/, and nothing imports in a circle.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle of imports is a bug in the plan: split the shared type out into a module of its own.',
      from: {},
      to: { circular: true }
    },
    {
      name: 'domain-is-framework-free',
      severity: 'error',
      comment: 'src/ is the domain: it speaks neither Fastify nor HTTP; plugins/ wire it in, routes/ expose it.',
      from: { path: '^src/' },
      to: { path: ['^node_modules/(fastify|fastify-plugin|@fastify/)', '^(plugins|routes)/', '^(app|server)\\.ts$'] }
    },
    {
      name: 'plugins-below-routes',
      severity: 'error',
      comment: 'Plugins are wired in before routes and know nothing of them.',
      from: { path: '^plugins/' },
      to: { path: ['^routes/', '^(app|server)\\.ts$'] }
    },
    {
      name: 'routes-below-app',
      severity: 'error',
      comment: 'Routes are assembled by app.ts; they never import it or the process entry point.',
      from: { path: '^routes/' },
      to: { path: '^(app|server)\\.ts$' }
    },
    {
      name: 'app-never-listens',
      severity: 'error',
      comment: 'server.ts is the process; app.ts builds the app and is imported by it, never the other way.',
      from: { path: '^app\\.ts$' },
      to: { path: '^server\\.ts$' }
    },
    {
      name: 'web-is-browser-code',
      severity: 'error',
      comment: 'The listener page is built for the browser: it shares no module with the server.',
      from: { path: '^web/' },
      to: { path: ['^(src|plugins|routes)/', '^(app|server)\\.ts$'] }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] }
  }
}
