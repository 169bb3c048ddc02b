import NIOCore
import QumuloAPI
import QumuloClient
import SandboxTestSupport
import Testing

@Suite struct ClientDataTests {
    @Test func writesAtOffsetsAndReadsRangesIntoFreshAndReusedBuffers() async throws {
        try await withClient { client, _ in
            let file = try await client.createFile(in: .path("/"), name: "f")
            let data = pattern(3 << 20)
            let written = try await client.replace(.id(file.id), with: ByteBuffer(bytes: data))
            #expect(written.size == UInt64(data.count) && written.etag != nil)
            let patched = try await client.write(.id(file.id), offset: UInt64(data.count + 10), ByteBuffer(string: "tail"))
            #expect(patched.size == UInt64(data.count + 14))

            let middle = try await client.read(.id(file.id), offset: 1000, length: 1 << 20)
            #expect(bytes(middle) == Array(data[1000 ..< 1000 + (1 << 20)]))

            // A reused buffer: whatever it held is gone, and a read near the end stops at the end.
            var reused = ByteBufferAllocator().buffer(capacity: 100)
            reused.writeRepeatingByte(0xAA, count: 100)
            let memory = reused.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
            let filled = try await client.read(.id(file.id), offset: UInt64(data.count - 6), length: 100, reusing: consume reused)
            #expect(filled.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == memory, "the same memory, not a copy")
            let tail = bytes(filled)
            #expect(tail.count == 20)
            #expect(Array(tail[0 ..< 6]) == Array(data.suffix(6)))
            #expect(tail[6 ..< 16].allSatisfy { $0 == 0 } && String(decoding: tail[16 ..< 20], as: UTF8.self) == "tail")

            let pastEnd = try await client.read(.id(file.id), offset: 1 << 30, length: 10)
            #expect(pastEnd.readableBytes == 0)
            #expect(client.metrics.bytesWritten >= Int64(data.count) && client.metrics.bytesRead >= Int64(1 << 20))
        }
    }

    @Test func punchHoleZeroesWithoutChangingTheSize() async throws {
        try await withClient { client, _ in
            let file = try await client.createFile(in: .path("/"), name: "f")
            _ = try await client.replace(.id(file.id), with: ByteBuffer(bytes: pattern(20_000)))
            let punched = try await client.punchHole(.id(file.id), offset: 4096, size: 8192)
            #expect(punched.size == 20_000)
            let after = bytes(try await client.read(.id(file.id), offset: 0, length: 20_000))
            #expect(after[4096 ..< 12288].allSatisfy { $0 == 0 })
            #expect(Array(after[12288...]) == Array(pattern(20_000)[12288...]))
        }
    }

    @Test func copyLoopsUntilTheServerSaysDone() async throws {
        try await withClient { client, _ in
            let source = try await client.createFile(in: .path("/"), name: "source")
            let data = stampedData(40 << 20)
            _ = try await client.replace(.id(source.id), with: ByteBuffer(bytes: data))
            let target = try await client.createFile(in: .path("/"), name: "target")
            let requestsBefore = client.metrics.requests
            let etag = try await client.copy(CopyChunkRequest(sourceID: source.id), into: .id(target.id), targetETag: target.etag)
            #expect(etag != nil)
            #expect(try await client.attributes(of: .id(target.id)).etag == etag)
            let copied = try await client.read(.id(target.id), offset: 0, length: data.count + 1)
            #expect(copied.readableBytes == data.count && bytes(copied) == data)
            // The sandbox copies in bounded steps, so a 40 MiB copy takes several posts.
            #expect(client.metrics.requests - requestsBefore > 1)
        }
    }

    @Test func readSequentiallyDeliversInOrderWithSeveralInFlight() async throws {
        try await withClient { client, _ in
            let file = try await client.createFile(in: .path("/"), name: "f")
            let data = stampedData(10 << 20 + 12345)
            _ = try await client.replace(.id(file.id), with: ByteBuffer(bytes: data))
            for inFlight in [1, 3, 8] {
                var received: [UInt8] = []
                let count = try await client.readSequentially(
                    .id(file.id), size: UInt64(data.count), blockSize: 1 << 20, inFlight: inFlight
                ) { block in received += bytes(block) }
                #expect(count == UInt64(data.count) && received == data)
            }
            var none = 0
            try await client.readSequentially(.id(file.id), size: 0, blockSize: 1 << 20, inFlight: 4) { _ in none += 1 }
            #expect(none == 0)
        }
    }
}

/// A buffer's readable bytes, copied in one go (element-wise iteration is slow in debug builds).
func bytes(_ buffer: ByteBuffer) -> [UInt8] {
    buffer.withUnsafeReadableBytes { Array($0) }
}
