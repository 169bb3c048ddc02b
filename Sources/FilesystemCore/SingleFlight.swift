import Synchronization

/// Runs one fetch per key at a time: callers that ask while it runs wait for the same result, so a burst of
/// `.snapshot` lookups costs one snapshot listing. (Directory listings share their fetch through
/// ``StreamedListing``, blocks through ``BlockCache``.)
final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let running = Mutex<[Key: Task<Value, any Error>]>([:])

    func value(for key: Key, fetch: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let task = running.withLock { running in
            if let task = running[key] { return task }
            let task = Task { try await fetch() }
            running[key] = task
            return task
        }
        defer {
            running.withLock { running in
                if running[key] == task { running[key] = nil }
            }
        }
        return try await task.value
    }
}
