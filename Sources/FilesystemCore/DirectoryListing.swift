import QumuloAPI
import Synchronization

/// A directory's children in the server's order, findable by name.
struct DirectoryListing: Sendable {
    private(set) var children: [FileAttributes] = []
    private var indexByName: [String: Int] = [:]
    /// When its fetch started: the children's attributes are no newer (``InodeState/fromListing(_:listedAt:now:)``).
    let fetchedAt: ContinuousClock.Instant

    init(fetchedAt: ContinuousClock.Instant) {
        self.fetchedAt = fetchedAt
    }

    subscript(name: String) -> FileAttributes? {
        indexByName[name].map { children[$0] }
    }

    /// Adds a child, or replaces the one of that name (a page boundary can repeat a name).
    mutating func add(_ child: FileAttributes) {
        if let index = indexByName[child.name] {
            children[index] = child
        } else {
            indexByName[child.name] = children.count
            children.append(child)
        }
    }
}

/// A listing that fills page by page while readers use it.
///
/// Why: a 10,000-entry directory is ten round trips to the server. Handed out as they arrive, the first page's
/// entries reach the kernel and `ls` while the other nine are still on the way, so listing and consuming overlap
/// instead of adding up.
final class StreamedListing: Sendable {
    private struct State {
        var listing: DirectoryListing
        /// Set once the last page is in, or the fetch failed.
        var outcome: Result<Void, FilesystemError>?
        var waiters: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []

        /// Removes and returns the waiters whose wanted count `isMet`.
        mutating func takeWaiters(_ isMet: (Int) -> Bool) -> [CheckedContinuation<Void, Never>] {
            var woken: [CheckedContinuation<Void, Never>] = []
            waiters.removeAll { waiter in
                guard isMet(waiter.count) else { return false }
                woken.append(waiter.continuation)
                return true
            }
            return woken
        }
    }

    private let state: Mutex<State>
    let fetchedAt: ContinuousClock.Instant

    init(fetchedAt: ContinuousClock.Instant) {
        self.fetchedAt = fetchedAt
        state = Mutex(State(listing: DirectoryListing(fetchedAt: fetchedAt)))
    }

    /// A listing already complete, as the listing cache holds it.
    init(complete listing: DirectoryListing) {
        fetchedAt = listing.fetchedAt
        state = Mutex(State(listing: listing, outcome: .success(())))
    }

    /// Adds one page's children and wakes the readers it satisfies.
    func add(_ children: some Sequence<FileAttributes>) {
        let woken = state.withLock { state in
            for child in children { state.listing.add(child) }
            let count = state.listing.children.count
            return state.takeWaiters { $0 <= count }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Ends the listing, complete or failed, and wakes every reader.
    func finish(_ outcome: Result<Void, FilesystemError>) {
        let woken = state.withLock { state in
            state.outcome = outcome
            return state.takeWaiters { _ in true }
        }
        for continuation in woken { continuation.resume() }
    }

    /// Children from index `start` on, at most `count`, waiting until that many are in or the listing ends.
    /// Fewer than `count` only at the end.
    func children(from start: Int, count: Int) async throws(FilesystemError) -> [FileAttributes] {
        let wanted = start.addingReportingOverflow(count).overflow ? Int.max : start + count
        try await wait(forCount: wanted)
        // Copied out under the lock: a slice still sharing the array would make the next page's append copy it all.
        return state.withLock { state in
            let children = state.listing.children
            return Array(children[min(start, children.count) ..< min(wanted, children.count)])
        }
    }

    /// The whole listing, once the last page is in.
    func complete() async throws(FilesystemError) -> DirectoryListing {
        try await wait(forCount: .max)
        return state.withLock { $0.listing }
    }

    private func wait(forCount count: Int) async throws(FilesystemError) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.outcome != nil || state.listing.children.count >= count { return true }
                state.waiters.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
        let failure: FilesystemError? = state.withLock { state in
            guard case .failure(let error)? = state.outcome, state.listing.children.count < count else { return nil }
            return error
        }
        if let failure { throw failure }
    }
}
