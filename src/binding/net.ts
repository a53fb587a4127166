/** The socket concern of the addon (native/net/). */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface NetBinding {}
