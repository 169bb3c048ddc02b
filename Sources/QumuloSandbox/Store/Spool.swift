import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A request body staged on disk before the store applies it, so a body that fails halfway changes nothing.
///
/// The file is unlinked on `close()` unless the store adopted it as a blob.
final class Spool: @unchecked Sendable {
    // @unchecked: the descriptor and count are written only by the one request task that fills the spool,
    // and read by the store after filling is complete.
    let path: String
    let descriptor: Int32
    private(set) var count: Int64 = 0

    init(in store: BlobStore) throws {
        path = "\(store.spoolDirectory)/\(UInt64.random(in: 0 ... .max))"
        descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        try check(descriptor < 0 ? -1 : 0, "create spool file")
    }

    /// Appends bytes; the caller enforces the size limit before calling.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let written = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(count) + off_t(done))
            if written < 0 {
                if errno == EINTR { continue }
                try check(-1, "write spool file")
            }
            done += written
        }
        count += Int64(bytes.count)
    }

    func close() {
        Glibc.close(descriptor)
        unlink(path)
    }
}
