import Foundation
import Testing
@testable import FUSEBridge
#if canImport(Glibc)
import Glibc
#endif

/// Large directories: READDIRPLUS over many kernel buffers, and cookies that resume anywhere.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct DirectoryListingTests {
    /// More than one kernel buffer holds: up to 1 MiB per READDIRPLUS, about 170 bytes per entry here.
    static let size = 8_000

    @Test(arguments: [false, true])
    func listsEveryEntryOnce(cacheDirectories: Bool) async throws {
        let filesystem = MemoryFilesystem(bigDirectorySize: Self.size, cacheDirectories: cacheDirectories)
        try await TestMount.with(filesystem) { mount in
            let expected = Set((0 ..< Self.size).map(MemoryFilesystem.bigName))
            for _ in 0 ..< 2 {
                let listing = try await mount.run("ls", "-f", mount.path("big"))
                #expect(listing.status == 0, "\(listing)")
                let names = listing.lines.filter { $0 != "." && $0 != ".." }
                #expect(names.count == Self.size, "no duplicates")
                #expect(Set(names) == expected, "no gaps")
            }
            let long = try await mount.run("ls", "-l", mount.path("big"))
            #expect(long.lines.count == Self.size + 1) // "total 0" first
            let calls = filesystem.snapshot.calls
            #expect(calls["readdirplus", default: 0] + calls["readdir", default: 0] >= 2 * (cacheDirectories ? 1 : 3),
                    "each listing spans several buffers")
            if cacheDirectories {
                #expect(calls["opendir", default: 0] >= 3)
            }
        }
    }

    /// `telldir` after every entry, then `seekdir` back to positions in any order: each resumes exactly after
    /// the entry it was taken at (the cookie), even when the same position is read again and again.
    @Test func seekdirResumesAtEveryCookie() async throws {
        let filesystem = MemoryFilesystem(bigDirectorySize: Self.size)
        try await TestMount.with(filesystem) { mount in
            let path = mount.path("big")
            let outcome: Result<Int, SeekError> = await onOSThread {
                guard let directory = opendir(path) else { return .failure(SeekError("opendir: \(errno)")) }
                defer { closedir(directory) }
                var entries: [(position: Int, name: String)] = []
                var position = telldir(directory)
                while let entry = readdir(directory) {
                    entries.append((position, name(of: entry)))
                    position = telldir(directory)
                }
                guard entries.count == Self.size + 2 else {
                    return .failure(SeekError("listed \(entries.count) entries"))
                }
                var generator = SystemRandomNumberGenerator()
                let probes = (0 ..< 200).map { _ in Int.random(in: 0 ..< entries.count, using: &generator) }
                    + [0, 0, entries.count - 1, entries.count - 1, 1, 1]
                for index in probes {
                    seekdir(directory, entries[index].position)
                    guard let entry = readdir(directory) else {
                        return .failure(SeekError("nothing at position of entry \(index)"))
                    }
                    let found = name(of: entry)
                    guard found == entries[index].name else {
                        return .failure(SeekError("entry \(index): expected \(entries[index].name), got \(found)"))
                    }
                }
                return .success(probes.count)
            }
            let probed = try outcome.get()
            #expect(probed > 200)
        }
    }

    struct SeekError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

private func name(of entry: UnsafeMutablePointer<dirent>) -> String {
    withUnsafePointer(to: &entry.pointee.d_name) {
        String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
    }
}
