@testable import QumuloSandbox
import Testing

@Suite struct LoginThrottleTests {
    let admin = LoginThrottle.Key(user: "admin", address: "127.0.0.1")
    let start = ContinuousClock.now

    @Test func lockoutsDoubleAfterTheFreeFailuresUpToTheCap() {
        var throttle = LoginThrottle(policy: .init())
        var now = start
        for _ in 0 ..< 3 {
            #expect(throttle.decide(admin, at: now) == .allow)
            throttle.failed(admin, at: now)
        }
        #expect(throttle.decide(admin, at: now) == .allow, "three wrong passwords are free")
        var lockouts: [Duration] = []
        for _ in 0 ..< 9 {
            throttle.failed(admin, at: now)
            guard case .refuse(let wait) = throttle.decide(admin, at: now) else {
                Issue.record("a failure past the free ones must lock out")
                return
            }
            lockouts.append(wait)
            now += wait
            #expect(throttle.decide(admin, at: now) == .allow, "the lockout ends when it said")
        }
        #expect(lockouts == [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
    }

    @Test func aLockoutBindsOnlyItsUserAndAddress() {
        var throttle = LoginThrottle(policy: .init())
        for _ in 0 ..< 4 { throttle.failed(admin, at: start) }
        #expect(throttle.decide(admin, at: start) != .allow)
        #expect(throttle.decide(.init(user: "admin", address: "127.0.0.2"), at: start) == .allow)
        #expect(throttle.decide(.init(user: "other", address: "127.0.0.1"), at: start) == .allow)
    }

    @Test func successAndLongQuietStartAfresh() {
        var throttle = LoginThrottle(policy: .init())
        for _ in 0 ..< 3 { throttle.failed(admin, at: start) }
        throttle.succeeded(admin)
        throttle.failed(admin, at: start)
        #expect(throttle.decide(admin, at: start) == .allow, "a success forgets the earlier failures")
        for _ in 0 ..< 3 { throttle.failed(admin, at: start) }
        #expect(throttle.decide(admin, at: start) != .allow)
        let later = start + .seconds(1) + LoginThrottle.Policy().maxLockout
        throttle.failed(admin, at: later)
        #expect(throttle.decide(admin, at: later) == .allow, "a lockout long over is forgotten")
    }

    @Test func memoryStaysBoundedUnderManyAddresses() {
        var policy = LoginThrottle.Policy()
        policy.maxTracked = 100
        var throttle = LoginThrottle(policy: policy)
        for index in 0 ..< 1000 {
            let now = start + .seconds(index * 120)
            throttle.failed(.init(user: "admin", address: "10.0.0.\(index)"), at: now)
            #expect(throttle.trackedCount <= 100)
        }
    }
}
