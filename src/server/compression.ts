import { useContentEncoding } from '@whatwg-node/server';
import type { Plugin } from 'graphql-yoga';

/**
 * Compresses the HTML pages yoga serves (GraphiQL's page inlines its assets: about 9 MB, under
 * 3 MB gzipped) for clients that accept gzip or deflate, with @whatwg-node/server's
 * useContentEncoding. Only its response side and only HTML: its request side would inflate
 * compressed bodies past the 64 KiB limit (read before yoga), and GraphQL results stay plain
 * (SSE streams must not wait in a compressor; a JSON answer carrying tokens next to reflected
 * input is what BREACH-style attacks need).
 */
export function useCompressedPages(): Plugin {
  const { onResponse } = useContentEncoding();
  return {
    onResponse(payload) {
      if (payload.response.headers.get('content-type')?.startsWith('text/html')) return onResponse?.(payload);
    },
  };
}
