// Links, API keys and the deferred queue on a real SQLCipher state.
#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "sealport/core/keys.hpp"
#include "sealport/core/token.hpp"
#include "sealport/state/links.hpp"
#include "sealport/state/state.hpp"
#include "temp_dir.hpp"

using namespace sealport;
using state::LinkState;

namespace {

struct Fixture {
    testing::TempDir dir{"sealport-links"};
    core::SystemClock clock;
    core::KeyRing keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 5)));
    state::State st{dir.path() / "state", keys, clock, 64};
    state::LinkStore links{st.db()};

    Fixture() {
        // link_study references study rows.
        st.db().exec(
            "INSERT INTO study VALUES ('1.2.3', 'P1', 'N', '', '', '', '', '', '', '', '');"
            "INSERT INTO study VALUES ('1.2.4', 'P1', 'N', '', '', '', '', '', '', '', '');");
    }
};

std::vector<std::uint8_t> fileBytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST_CASE("a link is found by its token and by nothing else, and only the token's digest is stored") {
    Fixture f;
    const auto created = f.links.create({"1.2.3", "1.2.4"}, "Dr Dubois", "uid:1000", 1000, 1000 + 3600000, 3);
    CHECK(core::isWellFormedToken(created.token));
    CHECK(created.link.id.rfind("lnk_", 0) == 0);
    const auto found = f.links.byToken(created.token);
    REQUIRE(found);
    CHECK(found->id == created.link.id);
    CHECK(found->studyUids == std::vector<std::string>{"1.2.3", "1.2.4"});
    CHECK(found->recipient == "Dr Dubois");
    CHECK(found->createdBy == "uid:1000");
    CHECK(found->maxDownloads == 3);
    CHECK(found->stateAt(2000) == LinkState::live);
    // Another well-formed token, the same token with one character changed, the id: none finds it.
    CHECK_FALSE(f.links.byToken(core::generateToken()));
    std::string altered = created.token;
    altered[5] = altered[5] == 'A' ? 'B' : 'A';
    CHECK_FALSE(f.links.byToken(altered));
    CHECK_FALSE(f.links.byToken(created.link.id));
    // The token itself is nowhere in the database file (it is encrypted anyway: check the plaintext schema).
    f.st.db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
    state::Statement s = f.st.db().prepare("SELECT count(*) FROM link WHERE CAST(token_sha256 AS TEXT) = ?");
    s.bind(1, created.token);
    REQUIRE(s.step());
    CHECK(s.integer(0) == 0);
    const auto raw = fileBytes(f.st.databasePath());
    CHECK(std::search(raw.begin(), raw.end(), created.token.begin(), created.token.end()) == raw.end());
}

TEST_CASE("a link's state: live, expired, exhausted, revoked") {
    Fixture f;
    const auto c = f.links.create({"1.2.3"}, "", "uid:0", 0, 10000, 2);
    CHECK(f.links.byId(c.link.id)->stateAt(9999) == LinkState::live);
    CHECK(f.links.byId(c.link.id)->stateAt(10000) == LinkState::expired);
    CHECK(f.links.countLive(5000) == 1);
    REQUIRE(f.links.countDownload(c.link.id, 5000));
    const auto second = f.links.countDownload(c.link.id, 5000);
    REQUIRE(second);
    CHECK(second->downloads == 2);
    CHECK(second->stateAt(5000) == LinkState::exhausted);
    CHECK_FALSE(f.links.countDownload(c.link.id, 5000));  // none left
    CHECK(f.links.countLive(5000) == 0);

    const auto d = f.links.create({"1.2.3"}, "", "uid:0", 0, 10000, 5);
    CHECK_FALSE(f.links.countDownload(d.link.id, 10000));  // expired
    CHECK(f.links.revoke(d.link.id, 100, "test"));
    CHECK_FALSE(f.links.revoke(d.link.id, 200, "again"));
    CHECK_FALSE(f.links.revoke("lnk_unknown", 200, "x"));
    const auto r = f.links.byId(d.link.id);
    CHECK(r->stateAt(150) == LinkState::revoked);
    CHECK(r->revokedReason == "test");
    CHECK_FALSE(f.links.countDownload(d.link.id, 150));
    CHECK(f.links.list().size() == 2);
}

TEST_CASE("two connections racing for a link's last download: exactly one gets it") {
    Fixture f;
    const auto c = f.links.create({"1.2.3"}, "", "uid:0", 0, 1'000'000, 1);
    std::atomic<int> got{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&] {
            auto conn = f.st.connect(f.clock);
            if (state::LinkStore(conn->db).countDownload(c.link.id, 10)) ++got;
        });
    for (auto& t : threads) t.join();
    CHECK(got == 1);
}

TEST_CASE("API keys: shown once, found by their secret, revocable") {
    Fixture f;
    state::ApiKeyStore keys(f.st.db());
    const auto k = keys.create("RIS main", "ris", "2026-11-28T10:00:00Z", "uid:0");
    CHECK(core::isWellFormedToken(k.secret));
    const auto found = keys.bySecret(k.secret);
    REQUIRE(found);
    CHECK(found->name == "RIS main");
    CHECK(found->role == "ris");
    CHECK_FALSE(found->revokedAt);
    CHECK_FALSE(keys.bySecret(core::generateToken()));
    keys.markUsed(k.key.id, "2026-11-28T11:00:00Z");
    CHECK(keys.bySecret(k.secret)->lastUsedAt == "2026-11-28T11:00:00Z");
    CHECK(keys.revoke(k.key.id, "2026-11-28T12:00:00Z"));
    CHECK_FALSE(keys.revoke(k.key.id, "2026-11-28T12:00:01Z"));
    CHECK(keys.bySecret(k.secret)->revokedAt == "2026-11-28T12:00:00Z");
    CHECK(keys.list().size() == 1);
}

TEST_CASE("deferred requests survive reopening the state") {
    testing::TempDir dir{"sealport-deferred"};
    core::SystemClock clock;
    const auto keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 6)));
    std::string id;
    {
        state::State st(dir.path() / "state", keys, clock, 64);
        const auto k = state::ApiKeyStore(st.db()).create("RIS", "ris", "t", "uid:0");
        id = state::DeferredQueue(st.db()).add(k.key.id, "2026-11-28T10:00:00Z", R"({"study_uids":["1.2.3"]})");
        CHECK(id.rfind("req_", 0) == 0);
    }
    state::State st(dir.path() / "state", keys, clock, 64);
    const auto d = state::DeferredQueue(st.db()).get(id);
    REQUIRE(d);
    CHECK(d->status == "pending");
    CHECK(d->request == R"({"study_uids":["1.2.3"]})");
    CHECK(state::DeferredQueue(st.db()).pending().size() == 1);
    CHECK_FALSE(state::DeferredQueue(st.db()).get("req_0000000000000000"));
}
