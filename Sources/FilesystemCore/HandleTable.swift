import Synchronization
import SystemPackage

struct DirectoryHandle: Sendable {
    var key: NodeKey
    /// The listing as of the last read from offset 0; later offsets index into it.
    var listing: HandleListing?
}

enum HandleListing: Sendable {
    /// Every entry, `.` and `..` included.
    case fixed([DirectoryEntry])
    /// A directory's children as they arrive, after `.` and `..` (both `here`).
    case streamed(here: Entry, directory: FileObject, StreamedListing)
}

struct FileHandle: Sendable {
    var file: InodeState
    /// Upload failures of the file this handle has been told of, or that came before it was opened.
    var reportedFailures: Int
    var readAhead: ReadAheadWindow
}

enum OpenHandle: Sendable {
    case directory(DirectoryHandle)
    case file(FileHandle)
}

/// Open handles by number, each of its kind: a number opened for a directory never reaches a file's operations.
/// Numbers are never reused within a mount, so a stale one cannot reach another file.
///
/// Locking: one mutex, a leaf: held for a dictionary operation, or for a change of one handle made in place
/// (``withFile(_:_:)``), during which only an ``InodeState``'s own lock may be taken.
final class HandleTable: Sendable {
    private struct State {
        var handles: [UInt64: OpenHandle] = [:]
        var next: UInt64 = 1
    }

    private let state = Mutex(State())

    func open(_ handle: OpenHandle) -> UInt64 {
        state.withLock { state in
            defer { state.next += 1 }
            state.handles[state.next] = handle
            return state.next
        }
    }

    func close(_ number: UInt64) {
        _ = state.withLock { $0.handles.removeValue(forKey: number) }
    }

    func file(_ number: UInt64) throws(FilesystemError) -> FileHandle {
        try withFile(number) { $0 }
    }

    func directory(_ number: UInt64) throws(FilesystemError) -> DirectoryHandle {
        guard case .directory(let directory)? = state.withLock({ $0.handles[number] }) else {
            throw FilesystemError(.badFileDescriptor, "no directory handle \(number)")
        }
        return directory
    }

    /// Replaces the handle's state, if it is still open.
    func update(_ number: UInt64, to handle: OpenHandle) {
        state.withLock { state in
            if state.handles[number] != nil { state.handles[number] = handle }
        }
    }

    /// Reads and changes a file handle in one step.
    func withFile<Result>(
        _ number: UInt64, _ body: (inout FileHandle) throws(FilesystemError) -> Result
    ) throws(FilesystemError) -> Result {
        try state.withLock { state throws(FilesystemError) in
            guard case .file(var opened)? = state.handles[number] else {
                throw FilesystemError(.badFileDescriptor, "no file handle \(number)")
            }
            let result = try body(&opened)
            state.handles[number] = .file(opened)
            return result
        }
    }
}
