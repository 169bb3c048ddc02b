import NIOCore
import Synchronization

/// Memory for the extents of large writes, reused once their uploads end.
///
/// An extent of a sequential writer fills up to ``FilesystemConfiguration/uploadSize`` bytes. Grown from its first
/// write, it is reallocated on the way and ends in fresh `mmap`ed memory that costs a page fault and a zeroed page
/// every 4 KiB; a buffer whose upload ended has its pages mapped already. A few wait as spares, outside the write
/// budget (which counts bytes written, not memory).
final class ExtentMemory: Sendable {
    let bufferSize: Int
    private let maxSpares: Int
    private let spares = Mutex<[ByteBuffer]>([])

    init(bufferSize: Int, maxSpares: Int) {
        self.bufferSize = bufferSize
        self.maxSpares = maxSpares
    }

    /// An empty buffer with room for a whole extent: a spare, or a new one.
    func take() -> ByteBuffer {
        guard var spare = spares.withLock({ $0.popLast() }) else {
            return ByteBufferAllocator().buffer(capacity: bufferSize)
        }
        spare.clear()
        return spare
    }

    /// Keeps an extent's buffer for a later one, if it is whole-extent sized and there is room among the spares.
    /// Only a buffer nothing else holds by the time it is taken saves anything: writing into a shared one copies it.
    func recycle(_ buffer: ByteBuffer) {
        guard buffer.capacity >= bufferSize else { return }
        spares.withLock { spares in
            if spares.count < maxSpares { spares.append(buffer) }
        }
    }

    var spareCount: Int { spares.withLock { $0.count } }
}
