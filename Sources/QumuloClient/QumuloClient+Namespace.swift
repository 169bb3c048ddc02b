import NIOHTTP1
import QumuloAPI

extension QumuloClient {
    /// `POST entries/`: creates (or links, or renames) into the directory `parent`. Never retried: a create whose
    /// answer was lost would come back as "exists", and a rename could move a file that replaced the source.
    public func createEntry(in parent: FileRef, _ entry: CreateEntryRequest) async throws -> Tagged<FileAttributes> {
        let request = APIRequest(.POST, parent.filesPath + "/entries/", body: try json(entry), retry: .never)
        return try await perform(request, decoding: FileAttributes.self)
    }

    public func createFile(in parent: FileRef, name: String) async throws -> Tagged<FileAttributes> {
        try await createEntry(in: parent, CreateEntryRequest(action: .createFile, name: name))
    }

    public func createDirectory(in parent: FileRef, name: String) async throws -> Tagged<FileAttributes> {
        try await createEntry(in: parent, CreateEntryRequest(action: .createDirectory, name: name))
    }

    /// A symlink whose target is `target`, stored verbatim (relative targets stay relative).
    public func createSymlink(
        in parent: FileRef, name: String, target: String, targetType: SymlinkTargetType? = nil
    ) async throws -> Tagged<FileAttributes> {
        try await createEntry(in: parent, CreateEntryRequest(
            action: .createSymlink, name: name, oldPath: target, symlinkTargetType: targetType))
    }

    /// A hard link to the file at the absolute path `existing`.
    public func createLink(in parent: FileRef, name: String, to existing: String) async throws -> Tagged<FileAttributes> {
        try await createEntry(in: parent, CreateEntryRequest(action: .createLink, name: name, oldPath: existing))
    }

    /// A FIFO, socket or device node (mknod); `device` for character and block devices.
    public func createUnixFile(
        in parent: FileRef, name: String, type: FileType, device: MajorMinorNumbers? = nil
    ) async throws -> Tagged<FileAttributes> {
        try await createEntry(in: parent, CreateEntryRequest(
            action: .createUnixFile, name: name, unixFileType: type, majorMinorNumbers: device))
    }

    /// Atomically moves the object at the absolute path `source` to `name` in `parent`.
    ///
    /// - Parameter clobber: replace an existing destination, as POSIX rename does; false answers 409 instead.
    public func rename(
        _ source: String, to parent: FileRef, name: String, clobber: Bool = true
    ) async throws -> Tagged<FileAttributes> {
        try await createEntry(in: parent, CreateEntryRequest(action: .rename, name: name, oldPath: source, clobber: clobber))
    }

    /// `DELETE /v1/files/{ref}`; a directory must be empty. Retried only for an id: an id is never reused, while
    /// a path may name a new file by the time a retry arrives.
    public func delete(_ ref: FileRef) async throws {
        let retry: APIRequest.Retry = if case .id = ref { .idempotent } else { .never }
        try await performIgnoringBody(APIRequest(.DELETE, ref.filesPath, retry: retry))
    }

    /// `DELETE entries/{name}`: removes one link (unlink, rmdir). Sent once, as the name could be reused.
    public func unlink(_ name: String, from parent: FileRef) async throws {
        let path = parent.filesPath + "/entries/" + PercentEncoding.encode(name)
        try await performIgnoringBody(APIRequest(.DELETE, path, retry: .never))
    }
}
