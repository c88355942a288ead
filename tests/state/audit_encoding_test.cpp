#include <catch2/catch.hpp>

#include "state_test_support.hpp"

using sealport::core::toHex;
using sealport::state::AuditRecord;
using sealport::state::Outcome;

// Golden values: the bytes below were written out by hand from the format
// documented in audit.hpp (tag, then every field as a u32 big-endian length
// and its bytes), and the digests computed from them with an independent
// SHA-256. If this test fails, existing audit chains stop verifying.

namespace {

AuditRecord goldenRecord() {
    AuditRecord r;
    r.seq = 42;
    r.time = "2026-11-28T17:47:58.123Z";
    r.actor = sealport::state::Actor{1000U, 4242, "security"};
    r.action = "incident.enter";
    r.subject = "mode";
    r.outcome = Outcome::success;
    r.details = R"({"reason":"drill"})";
    for (std::size_t i = 0; i < r.prevHash.size(); ++i)
        r.prevHash[i] = static_cast<std::uint8_t>(i);
    r.hash.fill(0xee);  // not covered by the encoding
    return r;
}

const std::string kGoldenEncoding =
    "00000017"
    "7365616c706f72742d61756469742d656e7472792d7631"  // "sealport-audit-entry-v1"
    "00000002"
    "3432"  // seq "42"
    "00000018"
    "323032362d31312d32385431373a34373a35382e3132335a"  // time
    "00000004"
    "31303030"  // uid "1000"
    "00000004"
    "34323432"  // pid "4242"
    "00000008"
    "7365637572697479"  // role "security"
    "0000000e"
    "696e636964656e742e656e746572"  // action "incident.enter"
    "00000004"
    "6d6f6465"  // subject "mode"
    "00000007"
    "73756363657373"  // outcome "success"
    "00000012"
    "7b22726561736f6e223a226472696c6c227d"  // details {"reason":"drill"}
    "00000020"
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";  // prev_hash

const std::string kGoldenHash = "d3cef212d994e42f8fcb9b876b2831b66c0e9dcda5cd916ced81bf016e4a0cbc";

}  // namespace

TEST_CASE("the canonical encoding of an audit entry is pinned byte for byte", "[audit][golden]") {
    const AuditRecord r = goldenRecord();
    CHECK(toHex(sealport::state::canonicalEncoding(r)) == kGoldenEncoding);
    CHECK(toHex(sealport::state::entryHash(r)) == kGoldenHash);
}

TEST_CASE("absent uid and pid and an empty subject encode as empty fields", "[audit][golden]") {
    AuditRecord r;
    r.seq = 1;
    r.time = "1970-01-01T00:00:00.000Z";
    r.actor = sealport::state::Actor{std::nullopt, std::nullopt, "none"};
    r.action = "control.refused";
    r.subject = "";
    r.outcome = Outcome::refused;
    r.details = "{}";
    // prevHash stays all zero: the first entry of a chain.
    const std::string expected =
        "00000017"
        "7365616c706f72742d61756469742d656e7472792d7631"
        "00000001"
        "31"
        "00000018"
        "313937302d30312d30315430303a30303a30302e3030305a"
        "00000000"  // uid absent
        "00000000"  // pid absent
        "00000004"
        "6e6f6e65"
        "0000000f"
        "636f6e74726f6c2e72656675736564"
        "00000000"  // subject ""
        "00000007"
        "72656675736564"
        "00000002"
        "7b7d"
        "00000020"
        "0000000000000000000000000000000000000000000000000000000000000000";
    CHECK(toHex(sealport::state::canonicalEncoding(r)) == expected);
    CHECK(toHex(sealport::state::entryHash(r)) ==
          "9326621a2c7d82bdfc673c171ded08055b8de3997ac4748c22e6ab1277ccd932");
}

TEST_CASE("the checkpoint message is pinned byte for byte", "[audit][golden]") {
    sealport::core::Sha256Digest hash{};
    hash.fill(0xaa);
    CHECK(toHex(sealport::state::checkpointMessage(10, hash, "2026-01-02T03:04:05.006Z")) ==
          "0000001c"
          "7365616c706f72742d61756469742d636865636b706f696e742d7631"  // tag
          "00000002"
          "3130"  // "10"
          "00000020"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "00000018"
          "323032362d30312d30325430333a30343a30352e3030365a");
}

TEST_CASE("changing any single field of an entry changes its hash", "[audit]") {
    const std::string field =
        GENERATE(as<std::string>{}, "seq", "time", "uid", "uid absent", "pid", "pid absent", "role",
                 "action", "subject", "outcome", "details", "prev_hash", "boundary");
    CAPTURE(field);
    const AuditRecord original = goldenRecord();
    AuditRecord changed = original;
    if (field == "seq")
        changed.seq = 43;
    else if (field == "time")
        changed.time[22] = '4';
    else if (field == "uid")
        changed.actor.uid = 1001U;
    else if (field == "uid absent")
        changed.actor.uid.reset();
    else if (field == "pid")
        changed.actor.pid = 4243;
    else if (field == "pid absent")
        changed.actor.pid.reset();
    else if (field == "role")
        changed.actor.role = "operator";
    else if (field == "action")
        changed.action = "incident.exit";
    else if (field == "subject")
        changed.subject = "modf";
    else if (field == "outcome")
        changed.outcome = Outcome::failure;
    else if (field == "details")
        changed.details = R"({"reason":"drilL"})";
    else if (field == "prev_hash")
        changed.prevHash[31] ^= 0x01;
    else if (field == "boundary") {
        // The same characters split differently between two fields: length prefixes tell them
        // apart.
        changed.action = "incident.entermo";
        changed.subject = "de";
    }
    REQUIRE(sealport::state::canonicalEncoding(changed) !=
            sealport::state::canonicalEncoding(original));
    CHECK(sealport::state::entryHash(changed) != sealport::state::entryHash(original));
}

TEST_CASE("the stored hash is not part of what it covers", "[audit]") {
    AuditRecord a = goldenRecord();
    AuditRecord b = goldenRecord();
    b.hash.fill(0x00);
    CHECK(sealport::state::entryHash(a) == sealport::state::entryHash(b));
}

TEST_CASE("outcomes print and parse as success, refused and failure only", "[audit]") {
    CHECK(sealport::state::toString(Outcome::success) == "success");
    CHECK(sealport::state::toString(Outcome::refused) == "refused");
    CHECK(sealport::state::toString(Outcome::failure) == "failure");
    for (const Outcome o : {Outcome::success, Outcome::refused, Outcome::failure})
        CHECK(sealport::state::parseOutcome(sealport::state::toString(o)) == o);
    const std::string bad = GENERATE(as<std::string>{}, "", "SUCCESS", "ok", "success ", "fail");
    CAPTURE(bad);
    CHECK_FALSE(sealport::state::parseOutcome(bad).has_value());
}

TEST_CASE("an audit record prints as JSON with hex hashes and parsed details", "[audit]") {
    const auto j = goldenRecord().toJson();
    CHECK(j.at("seq") == 42);
    CHECK(j.at("time") == "2026-11-28T17:47:58.123Z");
    CHECK(j.at("actor").at("uid") == 1000);
    CHECK(j.at("actor").at("pid") == 4242);
    CHECK(j.at("actor").at("role") == "security");
    CHECK(j.at("outcome") == "success");
    CHECK(j.at("details").at("reason") == "drill");
    CHECK(j.at("prev_hash") == "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    CHECK(j.at("hash") == std::string(64, 'e'));
}
