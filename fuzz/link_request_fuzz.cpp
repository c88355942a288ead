// Fuzzes what the HTTPS server hands the link service: any method, target,
// headers and body reach LinkService::handle, which routes, checks tokens and
// API keys, parses JSON and answers, on a real SQLCipher state (in a private
// directory under /dev/shm) that holds one live link, one API key of each
// role and a deferred request. Token handling (isWellFormedToken, the digest
// look-up) and parseLinkRequest are on this path.
//
// Input layout (text, as on the wire after TLS): the first line is the method,
// the second the target, then header lines "Name: value" until an empty line;
// the rest is the body; a leading '!' runs it in incident mode. Bytes "@LINK@", "@RIS@", "@OP@" in the target or a
// header are replaced by the live link's token and the API keys, so that the
// fuzzer reaches the paths behind a valid credential too.
//
// Checked on every input: an answer is produced (no exception escapes), its
// status is a known HTTP status, and every response carries the headers that
// keep the token out of caches and referrers.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "sealport/core/keys.hpp"
#include "sealport/core/token.hpp"
#include "sealport/links/service.hpp"
#include "sealport/state/links.hpp"

namespace {

using namespace sealport;

void require(bool condition) {
    if (!condition) __builtin_trap();
}

struct World {
    std::filesystem::path dir;
    core::SystemClock clock;
    core::KeyRing keys = core::deriveKeyRing(core::SecretBytes(std::vector<std::uint8_t>(32, 0x11)));
    std::unique_ptr<state::State> st;
    core::ModeGate gate;
    policy::Settings policy;
    std::unique_ptr<links::LinkService> svc;
    std::string link, ris, op;

    World() {
        char tmpl[] = "/dev/shm/sealport-fuzz-XXXXXX";
        require(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        std::filesystem::create_directories(dir / "scratch");
        st = std::make_unique<state::State>(dir / "state", keys, clock, 1000);
        st->db().exec("INSERT INTO study VALUES ('1.2.3', 'P1', 'N', '', '', '', '', '', '', '', '')");
        link = state::LinkStore(st->db()).create({"1.2.3"}, "", "uid:0", 0, 1LL << 50, 1LL << 40).token;
        state::ApiKeyStore apikeys(st->db());
        ris = apikeys.create("ris", "ris", "t", "uid:0").secret;
        op = apikeys.create("op", "operator", "t", "uid:0").secret;
        policy.failedTokenThreshold = 1U << 30;  // the limiter would soon answer 429 to everything
        gate.publish(policy::Mode::online);
        svc = std::make_unique<links::LinkService>(*st, gate, policy, clock, links::LinkHooks{},
                                                   links::LinkServiceSettings{"https://x.test", dir / "scratch", "fuzz"});
    }
    ~World() {
        svc.reset();
        st.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    std::string expand(std::string s) const {
        for (const auto& [marker, value] :
             {std::pair<std::string_view, const std::string*>{"@LINK@", &link}, {"@RIS@", &ris}, {"@OP@", &op}}) {
            for (auto at = s.find(marker); at != std::string::npos; at = s.find(marker, at + value->size()))
                s.replace(at, marker.size(), *value);
        }
        return s;
    }
};

World& world() {
    static World w;
    return w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    World& w = world();
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // A leading '!' runs the request in incident mode.
    const bool incident = !in.empty() && in.front() == '!';
    if (incident) in.remove_prefix(1);
    links::HttpRequest req;
    req.remoteAddress = "192.0.2.1";
    std::size_t pos = 0;
    const auto line = [&]() -> std::optional<std::string> {
        if (pos >= in.size()) return std::nullopt;
        const auto nl = in.find('\n', pos);
        std::string l(in.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
        pos = nl == std::string_view::npos ? in.size() : nl + 1;
        if (!l.empty() && l.back() == '\r') l.pop_back();
        return l;
    };
    req.method = line().value_or("");
    req.target = w.expand(line().value_or(""));
    while (auto l = line()) {
        if (l->empty()) break;
        const auto colon = l->find(':');
        std::string name = l->substr(0, colon);
        std::string value = colon == std::string::npos ? std::string() : l->substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.erase(0, 1);
        req.headers.emplace_back(std::move(name), w.expand(std::move(value)));
    }
    req.body = std::string(in.substr(std::min(pos, in.size())));
    w.gate.publish(incident ? policy::Mode::incident : policy::Mode::online);

    const links::HttpResponse r = w.svc->handle(req);
    require(r.status >= 200 && r.status <= 599);
    bool noStore = false, noReferrer = false;
    for (const auto& [k, v] : r.headers) {
        if (k == "Cache-Control" && v == "no-store") noStore = true;
        if (k == "Referrer-Policy" && v == "no-referrer") noReferrer = true;
    }
    require(noStore && noReferrer);
    if (r.stream) {  // drain a download (there is no study behind the link: it never gets this far)
        std::vector<std::uint8_t> buf(64 * 1024);
        std::uint64_t total = 0;
        while (const auto n = r.stream->next(buf)) total += n;
        require(total == r.streamLength);
    }
    // The pure pieces on the raw input too.
    (void)links::parseLinkRequest(in);
    (void)core::isWellFormedToken(in);
    return 0;
}
