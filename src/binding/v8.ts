/** The V8 concern of the addon (native/v8/). */
export interface V8Binding {
  /** v8::Isolate::LowMemoryNotification on the calling thread's isolate; false where the runtime lacks it. */
  shrinkV8Heap(): boolean;
}
