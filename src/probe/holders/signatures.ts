/**
 * Known holders of native memory in a connection-heavy Node service: what an operator calls each,
 * the frames that give it away in a sampled native heap profile's stacks, and what to change.
 * Data only; matching is in match.ts. Frames are matched by symbol name (innermost first): the
 * first frame that is `decisive` for a holder decides the site; where no frame is, the first frame
 * matching a holder's `fallback` does (libssl's internals when a stack was cut short of SSL_read).
 */

export type HolderId = 'zlib' | 'tls-buffers' | 'openssl-connections' | 'secure-contexts' | 'js-buffers';

/** Which open connections a holder's cost is counted against. */
export type HolderKind = 'tls' | 'any';

export interface HolderSignature {
  id: HolderId;
  /** In an operator's words. */
  name: string;
  /** What it is and why a connection holds it. */
  what: string;
  decisive: RegExp;
  fallback?: RegExp;
  kind: HolderKind;
  /**
   * What one connection ordinarily costs here; at or under 1.5× this (and not growing) the holder is
   * info, not a warning. Absent: the holder is raised when it dominates the sampled heap or grows.
   */
  ordinaryBytesPerConnection?: number;
  /**
   * Reported only when its bytes track connections or grow: a service ordinarily holds a few of
   * these (one SecureContext per certificate), and then there is nothing to say.
   */
  onlyWhenScaling?: boolean;
  /** The fix in a few words, for the one-line summary. */
  action: string;
  /** The same when an ordinary holder costs more than it ordinarily does. */
  actionWhenRaised?: string;
  /** What to change, naming the real options. */
  fix: string;
}

const KiB = 1024;

export const HOLDER_SIGNATURES: readonly HolderSignature[] = [
  {
    id: 'zlib',
    action: 'perMessageDeflate: false, or keep it with zlibDeflateOptions.memLevel + serverMaxWindowBits, or threshold + serverNoContextTakeover',
    name: 'permessage-deflate / zlib compression contexts',
    what:
      'a zlib deflate or inflate stream kept per connection: WebSocket permessage-deflate (ws, socket.io) or zlib.create* streams. ' +
      ("A deflate context holds 2^(windowBits+2) + 2^(memLevel+9) bytes (256 KiB at zlib's defaults, " +
        'windowBits 15, memLevel 8), an inflate context about 2^windowBits + 7 KiB (39 KiB); they live ' +
        'as long as the connection'),
    decisive:
      /CompressionStream<.*>::AllocForZlib|ZlibContext::|BrotliEncoderContext|BrotliDecoderContext|ZstdContext|^(Cr_z_)?(deflateInit2_|inflateInit2_|deflateInit_|inflateInit_)$/,
    fallback: /^(Cr_z_)?(deflate|inflate|updatewindow|deflateReset|inflateReset)$/,
    kind: 'any',
    // Each figure measured with ws 8.23 on Node 20.20.2 (test/fixtures/holders-service.js, 200 connections; docs/holders.md).
    fix:
      'ws: new WebSocketServer({ perMessageDeflate: false }) removes it (socket.io: new ' +
      'Server(httpServer, { perMessageDeflate: false }), its default since engine.io 4); ' +
      ('to keep compression, make each context smaller or rarer: perMessageDeflate: { ' +
        'zlibDeflateOptions: { memLevel: 1 }, serverMaxWindowBits: 10 } measured 121 KiB a connection ' +
        'against 325 KiB at the defaults ') +
      ("(memLevel shrinks deflate's hash table, serverMaxWindowBits its window: ws passes the " +
        'negotiated window bits, so zlibDeflateOptions.windowBits alone does nothing); ') +
      ('perMessageDeflate: { serverNoContextTakeover: true, threshold: 4096 } leaves messages under ' +
        '4096 bytes uncompressed, so a connection that only sends small ones never creates its deflate ' +
        'context (42 KiB a connection, the inflate context alone) — ') +
      ('ws applies threshold only with serverNoContextTakeover; serverNoContextTakeover / ' +
        'clientNoContextTakeover alone reset the context after each message but ws keeps it allocated ' +
        '(320 KiB: no saving). zlib.create* streams: close() them when done'),
  },
  {
    id: 'secure-contexts',
    action: 'create each SecureContext once and reuse it',
    name: 'TLS SecureContexts created per connection or per request',
    what:
      'an OpenSSL SSL_CTX (certificate, key, cipher lists, session cache) made by ' +
      'tls.createSecureContext() — in an SNICallback, per tls.connect() with key/cert/ca options, per ' +
      'https.Agent — ' +
      'for each connection instead of once; each lives as long as its connection and, on Node 22.23/24/26, until a GC (nodejs/node#66002)',
    // Not SSL_CTX_add_session and the like: a session cache filled per handshake is not a context made per connection.
    decisive:
      /^(SSL_CTX_new|SSL_CTX_use_|SSL_CTX_set_|SSL_CTX_load_|SSL_CTX_add_client_CA|SSL_CTX_add1_|SSL_CTX_add_extra)|node::crypto::SecureContext::(?!CreateSSL)|node::crypto::\(anonymous namespace\)::SSL_CTX_/,
    kind: 'tls',
    onlyWhenScaling: true,
    fix:
      'create each SecureContext once and reuse it: build tls.createSecureContext({ key, cert, ca }) ' +
      'at startup (one per certificate) and hand that object to SNICallback (cb(null, ctx)), ' +
      'tls.connect({ secureContext: ctx }) and https.Agent; for clients, reuse one https.Agent instead of passing key/cert/ca per request',
  },
  {
    id: 'tls-buffers',
    action: 'nothing to change (ordinary); fewer idle TLS sockets lower it',
    actionWhenRaised: 'find sockets whose peers send faster than the service reads (paused streams)',
    name: "Node's TLS input buffers (NodeBIO)",
    what:
      'the buffer each TLS socket reads encrypted bytes into (node::crypto::NodeBIO): allocated at 64 ' +
      "KiB per TLS socket once it reads, mostly untouched — in the allocator's in-use count, largely " +
      'not in RSS',
    decisive: /node::crypto::NodeBIO::/,
    kind: 'tls',
    ordinaryBytesPerConnection: 64 * KiB,
    fix:
      'ordinary: 64 KiB per open TLS socket, most of it never resident. The lever is fewer idle TLS ' +
      'sockets: server.setTimeout(ms) / server.keepAliveTimeout for idle clients, ' +
      'and end sockets whose peers stopped reading. Far more than 64 KiB per socket means peers send faster than the service reads (check paused streams)',
  },
  {
    id: 'openssl-connections',
    action: 'nothing to change (ordinary); fewer idle TLS connections lower it',
    actionWhenRaised: 'look for TLS sockets kept after close; opensslTracking counts OpenSSL exactly',
    name: 'OpenSSL per-connection state',
    what:
      "each TLS connection's SSL object: handshake state, record-layer buffers, cipher contexts, its " +
      'session — ordinarily 10–40 KiB a connection depending on the OpenSSL version and cipher',
    decisive:
      /^(SSL_new|SSL_read|SSL_write|SSL_do_handshake|SSL_accept|SSL_connect|SSL_shutdown|SSL_set_|SSL_use_|SSL_clear|SSL_renegotiate)|node::crypto::TLSWrap::/,
    fallback: /^(ssl3_|tls_|tls1_|tls13_|ossl_statem|state_machine|statem_|ssl_session_|ossl_ssl_)/,
    kind: 'tls',
    ordinaryBytesPerConnection: 40 * KiB,
    fix:
      'ordinary for a TLS service of this size. Fewer idle TLS connections (idle timeouts) lower it; ' +
      'far above the ordinary cost, look for sockets kept after close (a Map of sockets) ' +
      "or large session tickets, and compare with opensslTracking (createProbe({ opensslTracking: true })), which counts OpenSSL's bytes exactly",
  },
  {
    id: 'js-buffers',
    action: 'a heap snapshot: follow the retainers of the ArrayBuffers',
    name: 'Buffers held by JavaScript',
    what: 'the memory behind Buffers, ArrayBuffers and typed arrays that JavaScript keeps alive ' + '(node::NodeArrayBufferAllocator)',
    decisive: /node::NodeArrayBufferAllocator::|node::ArrayBufferAllocator::|v8::internal::BackingStore::Allocate|v8::ArrayBuffer::NewBackingStore/,
    kind: 'any',
    fix:
      'find who keeps them: take a heap snapshot (node --heapsnapshot-signal=SIGUSR2, or ' +
      'v8.writeHeapSnapshot()) and in Chrome DevTools sort by Retained Size, filter "ArrayBuffer" / ' +
      '"Buffer" and follow the retainers; ' +
      ("to name the allocating function, record in staging with DevTools Memory → 'Allocation " +
        "instrumentation on timeline' (it keeps every allocation's JS stack, too costly for production): " +
        "each retained ArrayBuffer's Allocation stack names it; ") +
      ('two snapshots minutes apart (Comparison view) show which grew. Usual culprits: Buffers kept ' +
        'per connection in a Map or array after close, stream chunks buffered for slow readers, ' +
        'Buffer.slice() views pinning large parents'),
  },
];

export const signatureOf = (id: HolderId): HolderSignature => HOLDER_SIGNATURES.find((s) => s.id === id)!;
