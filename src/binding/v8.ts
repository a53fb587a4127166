/** The V8 concern of the addon (native/v8/). */
export interface V8Binding {
  /** v8::Isolate::LowMemoryNotification on the calling thread's isolate; false where the runtime lacks it. */
  shrinkV8Heap(): boolean;
  /** v8::Isolate::MemoryPressureNotification(kModerate): starts an incremental memory-reducing
   *  mark-compact and returns at once; false where the runtime lacks the call. */
  startMemoryReducingGc(): boolean;
}
