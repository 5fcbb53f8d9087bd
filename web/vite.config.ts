// The web chat page: npm run web:build writes web/dist/, which the server serves at /.
// npm run web:dev serves it with hot reload on :5173 and proxies /graphql (HTTP and WebSocket) to
// the server on :4000 (CHAT_SERVER overrides).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const server = process.env.CHAT_SERVER ?? 'http://localhost:4000';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // relative asset URLs: the page also works when served under a path prefix
  base: './',
  // no source maps: the server would publish them next to the page
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', sourcemap: false },
  server: {
    proxy: {
      '/graphql': {
        target: server,
        ws: true,
        // the server accepts a browser's WebSocket from its own origin only (or ALLOWED_ORIGINS):
        // through this proxy the page's origin is the dev server's, so requests are made to look
        // as if they came from a page the server serves itself (development only)
        changeOrigin: true,
        rewriteWsOrigin: true,
        configure: (proxy) => {
          proxy.on('proxyReq', (req) => {
            if (req.getHeader('origin')) req.setHeader('origin', new URL(server).origin);
          });
        },
      },
    },
  },
});
