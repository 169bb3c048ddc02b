@testable import FilesystemCore
import NIOCore
import QumuloAPI
import SandboxTestSupport
import SystemPackage
import Testing

/// ``InodeState`` on its own: whatever the order of writes and of the server's answers, what a reader sees is what was
/// written last, and the size shown never falls behind the truth.
@Suite struct InodeTests {
    /// With uploads of 32 KiB, writes of 512 bytes and more start their extents in reused memory, here spares
    /// left full of other bytes: none of them may show.
    @Test(arguments: [1, 2, 3, 4], [Int.max, 32 << 10])
    func readersSeeTheLatestBytesWhateverTheOverlaps(seed: UInt64, uploadSize: Int) {
        var random = SplitMix(seed: seed)
        let memory = ExtentMemory(bufferSize: uploadSize, maxSpares: 4)
        if uploadSize < .max {
            for _ in 0 ..< 4 { memory.recycle(ByteBuffer(repeating: 0xEE, count: uploadSize)) }
            #expect(memory.spareCount == 4)
        }
        let file = inode(memory: memory, maxUploads: 4)
        var model: [UInt8] = []
        var dirty = 0
        for step in 0 ..< 300 {
            let offset = Int(random.next() % 4096), length = Int(random.next() % 700) + 1
            let byte = UInt8(truncatingIfNeeded: step)
            let (added, due) = file.write(ByteBuffer(repeating: byte, count: length), at: UInt64(offset))
            #expect(due.isEmpty)
            dirty += added
            if model.count < offset + length { model += [UInt8](repeating: 0, count: offset + length - model.count) }
            model.replaceSubrange(offset ..< offset + length, with: repeatElement(byte, count: length))

            let view = file.readView(version: version)!
            #expect(view.size == UInt64(model.count))
            var seen = [UInt8](repeating: 0, count: Int(view.size))
            for overlay in view.overlays {
                seen.replaceSubrange(Int(overlay.offset) ..< Int(overlay.end), with: overlay.data.readableBytesView)
            }
            #expect(seen == model, "step \(step)")
            #expect(view.overlays.reduce(0) { $0 + $1.data.readableBytes } == dirty, "the budget holds exactly the dirty bytes")
            file.checkInvariants()
        }
    }

    @Test func fullExtentsLeaveWithoutOverlappingOnesInFlight() {
        let file = inode(memory: ExtentMemory(bufferSize: 4, maxSpares: 0), maxUploads: 2)
        let first = file.write(ByteBuffer(string: "abcd"), at: 0).due
        #expect(first.map(\.extent.offset) == [0])
        // Over the range in flight: it waits in `dirty` even when full.
        #expect(file.write(ByteBuffer(string: "wxyz"), at: 2).due.isEmpty)
        #expect(file.readView(version: version)!.overlays.count == 2)
        file.checkInvariants()
        let now = ContinuousClock.now
        file.finishUpload(first[0].number, .success(attributes(size: 4, revision: 2)), sentAt: now, lifetime: 1, now: now)
        let next = file.dueUploads(all: false)
        #expect(next.map(\.extent.offset) == [2])
        file.finishUpload(next[0].number, .failure(FilesystemError(.noSpace)), sentAt: now, lifetime: 1, now: now)
        #expect(file.idle.0)
        #expect(file.unreportedFailure(seen: 0)?.0.errno == .noSpace)
        #expect(file.unreportedFailure(seen: 1) == nil)
        file.checkInvariants()
    }

    /// The race of issue 11, step by step: two uploads that extend a file are in flight; the server applies the
    /// smaller one first, and its answer arrives last. The file must show the larger size throughout and after.
    @Test func anOlderAnswerArrivingLastNeverShrinksTheFile() {
        let file = inode(memory: ExtentMemory(bufferSize: 1 << 20, maxSpares: 0), maxUploads: 4)
        let now = ContinuousClock.now
        file.apply(attributes(size: 0x18723, revision: 5), sentAt: now, lifetime: 1, now: now)
        _ = file.write(ByteBuffer(repeating: 1, count: 0x3b73), at: 0x2a334)
        _ = file.write(ByteBuffer(repeating: 2, count: 0xa317), at: 0x35ce9)
        let uploads = file.dueUploads(all: true)
        #expect(uploads.count == 2)
        #expect(file.known?.size == 0x40000)
        // Server order: the first extent (revision 6, size 0x2dea7), then the second (revision 7, size 0x40000);
        // answers arrive the other way round.
        file.finishUpload(uploads[1].number, .success(attributes(size: 0x40000, revision: 7)), sentAt: now, lifetime: 1, now: now)
        #expect(file.known?.size == 0x40000)
        file.checkInvariants()
        file.finishUpload(uploads[0].number, .success(attributes(size: 0x2dea7, revision: 6)), sentAt: now, lifetime: 1, now: now)
        #expect(file.idle.0)
        #expect(file.known?.size == 0x40000, "the older answer arrived last and must not win")
        #expect(file.readView(version: version)?.version == "7")
        // A stat's fetch sent while the first upload was applied, answered after both: older still.
        file.apply(attributes(size: 0x2dea7, revision: 6), sentAt: now, lifetime: 1, now: now, fetched: true)
        #expect(file.known?.size == 0x40000)
        file.checkInvariants()
    }

    /// Many writes, uploads applied by a model server in one order and answered in another, stat fetches answered
    /// late, truncates between flushes: after every step the file shows at least every byte written, and once
    /// everything is answered exactly the server's size and newest revision.
    @Test(arguments: 1 ... 8 as ClosedRange<UInt64>)
    func answersInAnyOrderLeaveTheTruth(seed: UInt64) {
        var random = SplitMix(seed: seed)
        let file = inode(memory: ExtentMemory(bufferSize: 4096, maxSpares: 2), maxUploads: 3)
        let now = ContinuousClock.now
        var server = ModelServer()
        file.apply(server.answer, sentAt: now, lifetime: 1, now: now)
        var modelSize: UInt64 = 0
        var applied: [(number: Int, answer: FileAttributes)] = []
        var inFlight: [InodeState.Upload] = []
        var lateFetches: [FileAttributes] = []
        func drain() {
            inFlight += file.dueUploads(all: true)
            while !inFlight.isEmpty || !applied.isEmpty {
                for upload in inFlight { applied.append((upload.number, server.write(upload.extent))) }
                inFlight = []
                for (number, answer) in applied.shuffled(using: &random) {
                    file.finishUpload(number, .success(answer), sentAt: now, lifetime: 1, now: now)
                }
                applied = []
                inFlight += file.dueUploads(all: true)
            }
        }
        for step in 0 ..< 2000 {
            switch random.next() % 10 {
            case 0 ..< 5:
                let offset = random.next() % 40_000, length = Int(random.next() % 6000) + 1
                inFlight += file.write(ByteBuffer(repeating: UInt8(truncatingIfNeeded: step), count: length), at: offset).due
                modelSize = max(modelSize, offset + UInt64(length))
            case 5:
                inFlight += file.dueUploads(all: true)
            case 6 where !inFlight.isEmpty:
                // The server applies one upload now; its answer waits.
                let upload = inFlight.remove(at: Int(random.next() % UInt64(inFlight.count)))
                applied.append((upload.number, server.write(upload.extent)))
            case 7 where !applied.isEmpty:
                let (number, answer) = applied.remove(at: Int(random.next() % UInt64(applied.count)))
                file.finishUpload(number, .success(answer), sentAt: now, lifetime: 1, now: now)
                inFlight += file.dueUploads(all: false)
            case 8:
                lateFetches.append(server.answer)
            case 9 where !lateFetches.isEmpty:
                file.apply(lateFetches.remove(at: Int(random.next() % UInt64(lateFetches.count))),
                           sentAt: now, lifetime: 1, now: now, fetched: true)
            default:
                // A truncate: everything drains first, as QumuloFilesystem does, then the answer comes.
                drain()
                modelSize = random.next() % 50_000
                file.apply(server.truncate(to: modelSize), sentAt: now, lifetime: 1, now: now)
            }
            file.checkInvariants()
            #expect(file.known!.size >= modelSize, "step \(step): shows \(file.known!.size), written up to \(modelSize)")
        }
        drain()
        for answer in lateFetches { file.apply(answer, sentAt: now, lifetime: 1, now: now) }
        #expect(file.idle.0)
        #expect(file.known!.size == server.size)
        #expect(server.size >= modelSize)
        #expect(file.readView(version: version)!.version == String(server.revision))
        file.checkInvariants()
    }

    /// Trust ends with the lifetime, on a clock the test moves; an answer to a request sent before this mount
    /// changed the object is taken for its order but not trusted, and neither are older listings' copies.
    @Test func trustEndsWithTheLifetimeAndWithALocalChange() {
        let manual = ManualClock()
        let clock = manual.clock
        let file = inode(memory: ExtentMemory(bufferSize: 4096, maxSpares: 0), maxUploads: 1)
        let listedAt = clock.now
        file.apply(attributes(size: 10, revision: 1), sentAt: clock.now, lifetime: 1, now: clock.now)
        #expect(file.fresh(now: clock.now)?.size == 10)
        manual.advance(by: 1.01)
        #expect(file.fresh(now: clock.now) == nil)
        #expect(file.fromListing(attributes(size: 10, revision: 1), listedAt: listedAt, now: clock.now)?.size == 10)

        let sent = clock.now
        manual.advance(by: 0.1)
        file.invalidate(now: clock.now)
        file.apply(attributes(size: 10, revision: 1), sentAt: sent, lifetime: 1, now: clock.now)
        #expect(file.fresh(now: clock.now) == nil, "asked before the change, answered after it")
        #expect(file.fromListing(attributes(size: 10, revision: 1), listedAt: listedAt, now: clock.now) == nil)
        manual.advance(by: 0.1)
        file.apply(attributes(size: 10, revision: 1), sentAt: clock.now, lifetime: 1, now: clock.now, fetched: true)
        #expect(file.fresh(now: clock.now)?.size == 10)
        #expect(file.takeFetchForOpen(within: 0.05, now: clock.now))
        #expect(!file.takeFetchForOpen(within: 0.05, now: clock.now), "a fetch counts for one open")
        file.checkInvariants()
    }

    @Test func aTableDropsIdleInodesOnlyAndKeepsItsInvariants() {
        let table = InodeTable(capacity: 8, policy: InodeState.WritePolicy(memory: ExtentMemory(bufferSize: 4096, maxSpares: 0),
                                                                       maxUploads: 1, checksInvariants: true))
        let opened = table.addHandle(FileObject(snapshot: nil, fileID: "1"))
        let now = ContinuousClock.now
        opened.apply(attributes(size: 0, revision: 1), sentAt: now, lifetime: 1, now: now)
        _ = opened.write(ByteBuffer(string: "pending"), at: 0)
        for id in 2 ... 40 {
            table.inode(FileObject(snapshot: nil, fileID: "\(id)")).apply(attributes(size: 1, revision: 1), sentAt: now,
                                                                             lifetime: Double(id), now: now)
            table.checkInvariants()
        }
        #expect(table.count <= 8)
        #expect(table.existing(FileObject(snapshot: nil, fileID: "1")) === opened, "an open inode is never dropped")
        #expect(table.removeHandle(opened))
        #expect(table.active(opened.object) === opened, "active while its writes are pending")
        table.checkInvariants()
    }

    private func inode(memory: ExtentMemory, maxUploads: Int) -> InodeState {
        let file = InodeState(object: FileObject(snapshot: nil, fileID: "9"),
                         policy: InodeState.WritePolicy(memory: memory, maxUploads: maxUploads, checksInvariants: true))
        let now = ContinuousClock.now
        file.apply(attributes(size: 0, revision: 1), sentAt: now, lifetime: 1, now: now)
        return file
    }

    private func version(_ attributes: FileAttributes) -> String {
        attributes.dataRevision.map(String.init) ?? "?"
    }
}

/// ``FileReader``'s plans: what a read prefetches, releases and needs, before any I/O.
@Suite struct ReadPlanTests {
    @Test func aSequentialReaderPrefetchesAheadAndReleasesWhatItPassed() {
        let block: UInt64 = 4 << 20
        let view = InodeState.ReadView(version: "1", serverSize: 40 * block, size: 40 * block, overlays: [])
        var window = ReadAheadWindow(initial: Int(block), maximum: Int(4 * block))
        var plans: [FileReader.ReadPlan] = []
        for offset in stride(from: UInt64(0), to: 8 * block, by: Int(block)) {
            plans.append(FileReader.plan(view, offset: offset, size: Int(block), blockSize: block, readAhead: &window))
        }
        #expect(plans.map(\.demand) == (0 ..< 8).map { $0 ... $0 })
        #expect(plans.map(\.release) == [nil, nil, 0, 1, 2, 3, 4, 5], "two blocks behind the reader")
        #expect(plans[0].prefetch == 1 ..< 2 && plans[1].prefetch == 2 ..< 4 && plans[3].prefetch == 4 ..< 8)
        // A seek closes the window: nothing prefetched, nothing released.
        let seek = FileReader.plan(view, offset: 30 * block + 5, size: 100, blockSize: block, readAhead: &window)
        #expect(seek.prefetch.isEmpty && seek.release == nil && seek.demand == 30 ... 30)
    }

    @Test func bytesPastTheServersEndNeedNoBlock() {
        // 10 bytes on the server, 100 with pending writes: a read at 50 is all overlay and zeros.
        let view = InodeState.ReadView(version: "1", serverSize: 10, size: 100, overlays: [])
        var window = ReadAheadWindow(initial: 4096, maximum: 4096)
        let plan = FileReader.plan(view, offset: 50, size: 4096, blockSize: 4096, readAhead: &window)
        #expect(plan.demand == nil && plan.end == 100)
        let past = FileReader.plan(view, offset: 200, size: 10, blockSize: 4096, readAhead: &window)
        #expect(past.offset == past.end, "nothing to read past the end")
    }
}

/// One file as a server keeps it: every write and truncate moves the revision on.
private struct ModelServer {
    var size: UInt64 = 0
    var revision: UInt64 = 1

    var answer: FileAttributes { attributes(size: size, revision: revision) }

    mutating func write(_ extent: InodeState.Extent) -> FileAttributes {
        size = max(size, extent.end)
        revision += 1
        return answer
    }

    mutating func truncate(to size: UInt64) -> FileAttributes {
        self.size = size
        revision += 1
        return answer
    }
}

/// Attributes of a plain file of `size` bytes at data revision `revision`.
func attributes(size: UInt64, revision: UInt64 = 1) -> FileAttributes {
    FileAttributes(id: "9", name: "f", path: "/f", type: .file, mode: FileMode(rawValue: 0o644), owner: 0, group: 0, size: size,
                   blocks: 0, datablocks: 0, metablocks: 0, numLinks: 1, childCount: 0, accessTime: .now(),
                   modificationTime: .now(), changeTime: .now(), creationTime: .now(), dataRevision: revision)
}
