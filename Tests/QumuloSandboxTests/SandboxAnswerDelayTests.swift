import Foundation
import NIOHTTP1
import QumuloAPI
import QumuloSandbox
import Testing

@Suite struct SandboxAnswerDelayTests {
    /// Seed 1496 draws 2969 ms, then 66 ms, from 0...3000: the first write applied is answered long after the
    /// second, with seconds to spare for the polling and the second write on a loaded machine.
    static let delay = AnswerDelay(milliseconds: 0 ... 3000, seed: 1496)

    /// The answers' order, as a client sees them arrive.
    actor Arrivals {
        var sizes: [UInt64] = []
        func arrived(_ attributes: FileAttributes) { sizes.append(attributes.size) }
    }

    @Test func twoWritesInFlightAreAnsweredInTheOppositeOrderToTheOneTheyWereApplied() async throws {
        try await withSandbox(writeAnswerDelay: Self.delay) { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            let created = try await sandbox.attributes("/f")
            let arrivals = Arrivals()
            let started = ContinuousClock.now
            let first = Task {
                let answer = try await sandbox.write("/f", pattern(1000), offset: 0).decode(FileAttributes.self)
                await arrivals.arrived(answer)
                return ContinuousClock.now - started
            }
            // The second write must be applied after the first, so the draws follow the writes' order.
            while try await sandbox.attributes("/f").size != 1000 {
                try await Task.sleep(for: .milliseconds(5))
            }
            let second = try await sandbox.write("/f", pattern(1000, seed: 1), offset: 1000).decode(FileAttributes.self)
            await arrivals.arrived(second)
            let firstTook = try await first.value

            #expect(await arrivals.sizes == [2000, 1000], "the newer answer comes first and the older, smaller one last")
            #expect(firstTook >= .milliseconds(2969), "the first answer was held for its draw")
            let final = try await sandbox.attributes("/f")
            #expect(final.size == 2000 && final.dataRevision != created.dataRevision)
            #expect(try await sandbox.read("/f") == pattern(1000) + pattern(1000, seed: 1))
        }
    }

    @Test func attributeChangesAreHeldToo() async throws {
        try await withSandbox(writeAnswerDelay: AnswerDelay(milliseconds: 300 ... 300)) { sandbox in
            try await sandbox.create(.createFile, in: "/", "f")
            let started = ContinuousClock.now
            let answer = try await sandbox.send(.PATCH, "/v1/files/%2Ff/info/attributes", json: SetAttributesRequest(size: 4096))
            #expect(ContinuousClock.now - started >= .milliseconds(300))
            #expect(try answer.decode(FileAttributes.self).size == 4096)
        }
    }
}
