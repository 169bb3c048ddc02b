import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Names one request while the bridge works on it; the key the kernel's INTERRUPT finds its Task by.
struct RequestID: Hashable, Sendable, CustomStringConvertible {
    var rawValue: UInt64

    var description: String { "#\(rawValue)" }
}

/// The requests in flight, as a value: each step returns what to do, and the caller does it outside the lock.
///
/// A request is `starting` from the moment its callback registers it until its Task exists, so an INTERRUPT that
/// arrives in between is remembered and cancels the Task as soon as it is attached.
struct InFlightRequests {
    enum Slot {
        case starting(interrupted: Bool)
        case running(Task<Void, Never>)
    }

    private var slots: [RequestID: Slot] = [:]
    /// Starts at 1: the id travels through libfuse as a pointer-sized integer, and 0 would read as NULL.
    private var nextID: UInt64 = 1
    /// Once the loop ended nothing new starts; a request still registering is cancelled at once.
    private(set) var isClosed = false

    var count: Int { slots.count }

    /// Registers a new request.
    mutating func open() -> RequestID {
        let id = RequestID(rawValue: nextID)
        nextID += 1
        slots[id] = .starting(interrupted: isClosed)
        return id
    }

    /// Records the request's Task; returns it when it must be cancelled at once (interrupted while starting).
    /// A request that already finished is not recorded again.
    mutating func attach(_ task: Task<Void, Never>, to id: RequestID) -> Task<Void, Never>? {
        guard case .starting(let interrupted) = slots[id] else { return nil }
        slots[id] = .running(task)
        return interrupted ? task : nil
    }

    /// The kernel interrupted `id`: returns the Task to cancel, or remembers the interrupt until it is attached.
    mutating func interrupt(_ id: RequestID) -> Task<Void, Never>? {
        switch slots[id] {
        case .starting: slots[id] = .starting(interrupted: true); return nil
        case .running(let task): return task
        case nil: return nil
        }
    }

    /// The request was answered.
    mutating func close(_ id: RequestID) {
        slots[id] = nil
    }

    /// The loop ended: returns every running Task to cancel, and marks the starting ones interrupted.
    mutating func closeAll() -> [Task<Void, Never>] {
        isClosed = true
        var tasks: [Task<Void, Never>] = []
        for (id, slot) in slots {
            switch slot {
            case .starting: slots[id] = .starting(interrupted: true)
            case .running(let task): tasks.append(task)
            }
        }
        return tasks
    }

    /// Ids are unique and below `nextID`.
    func checkInvariants() {
        precondition(slots.keys.allSatisfy { $0.rawValue > 0 && $0.rawValue < nextID }, "request id out of range")
    }
}

/// The in-flight table behind a lock, shared by the callbacks (libfuse threads) and the Tasks.
///
/// Lock order: `state` is a leaf lock; it is held only to compute a step of ``InFlightRequests``, never while
/// cancelling a Task (which runs cancellation handlers) or calling libfuse.
final class RequestTracker: Sendable {
    private let state = Mutex(InFlightRequests())

    var count: Int { state.withLock { $0.count } }

    func open() -> RequestID {
        state.withLock { $0.open() }
    }

    func attach(_ task: Task<Void, Never>, to id: RequestID) {
        state.withLock { $0.attach(task, to: id) }?.cancel()
    }

    func interrupt(_ id: RequestID) {
        state.withLock { $0.interrupt(id) }?.cancel()
    }

    func close(_ id: RequestID) {
        state.withLock { $0.close(id) }
    }

    /// Cancels everything in flight, then waits up to `timeout` for the last reply. Blocks the calling thread:
    /// call it from the session thread, never from a Task. Returns how many requests are still unanswered.
    func drain(timeout: Duration) -> Int {
        for task in state.withLock({ $0.closeAll() }) { task.cancel() }
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = count
            if remaining == 0 || ContinuousClock.now >= deadline { return remaining }
            usleep(5_000)
        }
    }
}
