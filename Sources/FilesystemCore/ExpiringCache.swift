import Synchronization

/// A bounded map whose entries expire: attributes and listings of the live tree live for the attribute
/// timeout, those of snapshots as long as there is room (their content never changes).
///
/// Eviction past `capacity` drops the entries that expire first, in one pass, down to three quarters of the
/// capacity, so the cost is amortized O(1) per insertion.
final class ExpiringCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Slot {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private let slots = Mutex<[Key: Slot]>([:])
    private let capacity: Int
    private let clock: CoreClock

    init(capacity: Int, clock: CoreClock = .continuous) {
        self.capacity = capacity
        self.clock = clock
    }

    /// The value if it has not expired.
    /// - Complexity: O(1).
    func value(for key: Key) -> Value? {
        let now = clock.now
        return slots.withLock { slots in
            guard let slot = slots[key] else { return nil }
            guard slot.expires > now else {
                slots[key] = nil
                return nil
            }
            return slot.value
        }
    }

    /// - Complexity: amortized O(1).
    func set(_ value: Value, for key: Key, lifetime: Double) {
        let expires = clock.deadline(in: lifetime)
        slots.withLock { slots in
            slots[key] = Slot(value: value, expires: expires)
            if slots.count > capacity {
                let keep = capacity * 3 / 4
                let byExpiry = slots.sorted { $0.value.expires > $1.value.expires }
                slots = Dictionary(uniqueKeysWithValues: byExpiry.prefix(keep).map { ($0.key, $0.value) })
            }
        }
    }

    /// Removes the entry; returns its value if it had not expired.
    @discardableResult
    func remove(_ key: Key) -> Value? {
        let now = clock.now
        return slots.withLock { slots in
            guard let slot = slots.removeValue(forKey: key), slot.expires > now else { return nil }
            return slot.value
        }
    }

    /// Changes a value in place if it is there and current, keeping its expiry: for facts this mount changed
    /// itself, which are no older than the rest of the value.
    func update(_ key: Key, _ change: (inout Value) -> Void) {
        let now = clock.now
        slots.withLock { slots in
            // Taken out while it changes, so the value is not shared and changes without a copy.
            guard var slot = slots.removeValue(forKey: key), slot.expires > now else { return }
            change(&slot.value)
            slots[key] = slot
        }
    }

    func removeAll(where shouldRemove: (Key, Value) -> Bool) {
        slots.withLock { slots in
            slots = slots.filter { !shouldRemove($0.key, $0.value.value) }
        }
    }

    var count: Int { slots.withLock { $0.count } }
}
