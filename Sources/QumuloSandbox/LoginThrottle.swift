/// Wrong passwords counted per user and client address: past a few free tries, each wrong one locks that pair
/// out for twice as long as the last, up to a cap, and while locked out every attempt (the right password too) is
/// refused with 429 and a `Retry-After`.
///
/// Brute force then gets a guess a minute instead of hundreds a second, a typo costs nothing, and a lockout never
/// spills over to another address or user. A value type: the caller holds it under a lock and asks for decisions.
struct LoginThrottle {
    /// The knobs, with why each default was chosen.
    struct Policy: Sendable {
        /// Wrong passwords before the first lockout: enough for typos and a script with a stale password.
        var freeFailures = 3
        /// The first lockout; each later one doubles it.
        var firstLockout: Duration = .seconds(1)
        /// The longest lockout: a person who forgot the password can retry within a minute.
        var maxLockout: Duration = .seconds(60)
        /// Pairs remembered before some are dropped: first those long quiet, then those not locked out now. This
        /// bounds the memory an attack from many addresses can take to about this many pairs in lockout.
        var maxTracked = 10_000

        init() {}
    }

    struct Key: Hashable {
        var user: String
        var address: String
    }

    enum Decision: Equatable {
        case allow
        case refuse(retryAfter: Duration)
    }

    private struct Record {
        var failures = 0
        var lockedUntil: ContinuousClock.Instant
    }

    let policy: Policy
    private var records: [Key: Record] = [:]

    init(policy: Policy) {
        self.policy = policy
    }

    /// Pairs remembered now, for checking the bound `maxTracked` sets.
    var trackedCount: Int { records.count }

    /// Whether `key` may try a password now.
    func decide(_ key: Key, at now: ContinuousClock.Instant) -> Decision {
        guard let record = records[key], now < record.lockedUntil else { return .allow }
        return .refuse(retryAfter: record.lockedUntil - now)
    }

    /// Counts a wrong password; past the free ones it starts (or doubles) a lockout.
    mutating func failed(_ key: Key, at now: ContinuousClock.Instant) {
        if records.count >= policy.maxTracked { makeRoom(at: now) }
        var record = records[key].flatMap { isForgotten($0, at: now) ? nil : $0 } ?? Record(lockedUntil: now)
        record.failures += 1
        let excess = record.failures - policy.freeFailures
        if excess > 0 {
            // firstLockout · 2^(excess-1), capped; the shift is bounded so no number of failures can overflow it.
            let doubled = policy.firstLockout * (1 << min(excess - 1, 30))
            record.lockedUntil = now + min(doubled, policy.maxLockout)
        }
        records[key] = record
    }

    /// The right password: the pair starts afresh.
    mutating func succeeded(_ key: Key) {
        records[key] = nil
    }

    /// A pair whose last lockout ended a whole `maxLockout` ago starts afresh, so that a long-quiet mistake does
    /// not weigh on today's typo.
    private func isForgotten(_ record: Record, at now: ContinuousClock.Instant) -> Bool {
        now >= record.lockedUntil + policy.maxLockout
    }

    private mutating func makeRoom(at now: ContinuousClock.Instant) {
        records = records.filter { !isForgotten($0.value, at: now) }
        if records.count >= policy.maxTracked {
            records = records.filter { now < $0.value.lockedUntil }
        }
    }
}
