/// A value handed to other threads by a caller that guarantees they do not touch it at once.
struct UncheckedBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}
