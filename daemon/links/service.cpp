#include "sealport/links/service.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "sealport/core/json_depth.hpp"
#include "sealport/core/log.hpp"
#include "sealport/core/token.hpp"
#include "sealport/core/utf8.hpp"
#include "sealport/ingest/instance.hpp"
#include "sealport/links/zip.hpp"
#include "sealport/media/fileset.hpp"
#include "sealport/policy/decision.hpp"
#include "sealport/policy/token_meter.hpp"

namespace sealport::links {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxStudiesPerLink = 32;
constexpr std::size_t kMaxRecipientBytes = 256;
constexpr std::size_t kMaxJsonDepth = 4;

bool printableText(std::string_view s) {
    if (core::firstInvalidUtf8(s)) return false;
    return std::none_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7F;
    });
}

std::optional<std::uint32_t> smallCount(const json& v, std::uint32_t max) {
    if (!v.is_number_integer()) return std::nullopt;
    const auto n = v.get<std::int64_t>();
    if (n < 1 || n > static_cast<std::int64_t>(max)) return std::nullopt;
    return static_cast<std::uint32_t>(n);
}

std::string htmlEscape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 16);
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string base64(std::span<const std::uint8_t> data) {
    std::string s = core::base64url(data);
    for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (s.size() % 4 != 0) s += '=';
    return s;
}

// DICOM dates (YYYYMMDD) shown as YYYY-MM-DD; anything else as it is.
std::string displayDate(const std::string& d) {
    if (d.size() == 8 && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2);
    return d;
}

// DICOM person names (Family^Given^Middle^Prefix^Suffix, with = groups) for reading.
std::string displayName(const std::string& pn) {
    const std::string first = pn.substr(0, pn.find('='));
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        const auto caret = first.find('^', start);
        parts.push_back(first.substr(start, caret == std::string::npos ? std::string::npos : caret - start));
        if (caret == std::string::npos) break;
        start = caret + 1;
    }
    std::string out = parts[0];
    std::string given;
    for (std::size_t i = 1; i < parts.size() && i < 3; ++i)
        if (!parts[i].empty()) given += (given.empty() ? "" : " ") + parts[i];
    if (!given.empty()) out += out.empty() ? given : ", " + given;
    return out.empty() ? std::string("(no name)") : out;
}

std::string displayBytes(std::int64_t b) {
    const char* units[] = {"bytes", "KB", "MB", "GB", "TB"};
    double v = static_cast<double>(b);
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

// The one style sheet, inline; the Content-Security-Policy allows exactly it.
constexpr std::string_view kStyle =
    "body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}"
    "h1{font-size:1.4rem}table{border-collapse:collapse;width:100%}"
    "td,th{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}"
    ".button{display:inline-block;margin-top:1.2rem;padding:.7rem 1.4rem;background:#0b5394;color:#fff;"
    "text-decoration:none;border-radius:.3rem}.note{color:#555;font-size:.9rem}";

std::string contentSecurityPolicy() {
    const auto digest = core::sha256(
        std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(kStyle.data()), kStyle.size()));
    return "default-src 'none'; style-src 'sha256-" + base64(digest) +
           "'; img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
}

HttpResponse page(int status, const std::string& title, const std::string& bodyHtml, const std::string& csp) {
    HttpResponse r;
    r.status = status;
    r.body = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
             "<meta name=\"robots\" content=\"noindex,nofollow\"><title>" +
             htmlEscape(title) + "</title><style>" + std::string(kStyle) + "</style></head><body>\n<h1>" +
             htmlEscape(title) + "</h1>\n" + bodyHtml + "\n</body></html>\n";
    r.set("Content-Type", "text/html; charset=utf-8");
    r.set("Content-Security-Policy", csp);
    return r;
}

HttpResponse jsonResponse(int status, const json& body) {
    HttpResponse r;
    r.status = status;
    r.body = body.dump() + "\n";
    r.set("Content-Type", "application/json; charset=utf-8");
    return r;
}

// Headers on every response: the token is in the URL, so nothing may be
// cached, sent as a referrer or framed.
void addSecurityHeaders(HttpResponse& r) {
    r.set("Cache-Control", "no-store");
    r.set("Referrer-Policy", "no-referrer");
    r.set("X-Content-Type-Options", "nosniff");
    r.set("X-Frame-Options", "DENY");
    r.set("Strict-Transport-Security", "max-age=31536000");
}

// An instance's CRC-32 (ZIP headers need it before the bytes): read from the
// catalogue, or computed from its blob and recorded the first time.
std::uint32_t crcOf(state::Catalogue& catalogue, const state::BlobStore& blobs, state::InstanceLocation& inst) {
    if (inst.crc32) return *inst.crc32;
    uLong crc = ::crc32(0L, Z_NULL, 0);
    if (auto f = blobs.read(inst.blobId, [&](std::span<const std::uint8_t> chunk) {
            crc = ::crc32(crc, chunk.data(), static_cast<uInt>(chunk.size()));
        }))
        throw std::runtime_error("blob: " + f->detail);
    inst.crc32 = static_cast<std::uint32_t>(crc);
    catalogue.setCrc32(inst.sopInstanceUid, *inst.crc32);
    return *inst.crc32;
}

std::uint32_t crcOf(std::string_view bytes) {
    return static_cast<std::uint32_t>(
        ::crc32(::crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

class MemorySource final : public EntrySource {
public:
    explicit MemorySource(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
    std::size_t read(std::span<std::uint8_t> out) override {
        const std::size_t n = std::min(out.size(), bytes_->size() - offset_);
        std::memcpy(out.data(), bytes_->data() + offset_, n);
        offset_ += n;
        return n;
    }

private:
    std::shared_ptr<const std::string> bytes_;
    std::size_t offset_ = 0;
};

class BlobSource final : public EntrySource {
public:
    BlobSource(const state::BlobStore& blobs, const std::string& blobId) {
        auto opened = blobs.open(blobId);
        if (auto* f = std::get_if<state::BlobFailure>(&opened)) throw std::runtime_error("blob: " + f->detail);
        reader_.emplace(std::move(std::get<state::BlobReader>(opened)));
    }
    std::size_t read(std::span<std::uint8_t> out) override {
        auto got = reader_->read(out);
        if (auto* f = std::get_if<state::BlobFailure>(&got)) throw std::runtime_error("blob: " + f->detail);
        return std::get<std::size_t>(got);
    }

private:
    std::optional<state::BlobReader> reader_;
};

// The ZIP as an HTTP body; says in the journal whether it was sent whole.
class ZipBody final : public BodySource {
public:
    ZipBody(std::unique_ptr<ZipStream> zip, std::string linkId) : zip_(std::move(zip)), linkId_(std::move(linkId)) {}
    ~ZipBody() override {
        if (zip_->produced() == zip_->size())
            core::log::info("link " + linkId_ + ": download complete, " + std::to_string(zip_->size()) + " bytes");
        else
            core::log::warning("link " + linkId_ + ": download ended after " + std::to_string(zip_->produced()) +
                               " of " + std::to_string(zip_->size()) + " bytes");
    }
    std::size_t next(std::span<std::uint8_t> out) override { return zip_->next(out); }

private:
    std::unique_ptr<ZipStream> zip_;
    std::string linkId_;
};

std::string fileSetIdFor(const std::string& linkId) {
    // CS, at most 16 characters of A-Z 0-9 _ : "SP_" and the link's random hex.
    std::string id = "SP_";
    for (char c : linkId.substr(linkId.find('_') + 1))
        if (id.size() < 16) id += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return id;
}

}  // namespace

std::variant<LinkRequest, std::string> parseLinkRequest(std::string_view body) {
    if (core::jsonNestedDeeperThan(body, kMaxJsonDepth)) return std::string("the JSON is nested too deeply");
    const json j = json::parse(body.begin(), body.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::string("the body must be a JSON object");
    LinkRequest r;
    for (const auto& [key, value] : j.items()) {
        if (key == "study_uid") {
            if (!value.is_string()) return std::string("study_uid must be a string");
            r.studyUids.push_back(value.get<std::string>());
        } else if (key == "study_uids") {
            if (!value.is_array() || value.empty() || value.size() > kMaxStudiesPerLink)
                return "study_uids must be a list of 1 to " + std::to_string(kMaxStudiesPerLink) + " UIDs";
            for (const auto& u : value) {
                if (!u.is_string()) return std::string("study_uids must hold strings");
                r.studyUids.push_back(u.get<std::string>());
            }
        } else if (key == "recipient") {
            if (!value.is_string()) return std::string("recipient must be a string");
            r.recipient = value.get<std::string>();
        } else if (key == "ttl_days") {
            r.ttlDays = smallCount(value, 3650);
            if (!r.ttlDays) return std::string("ttl_days must be a whole number of days, at least 1");
        } else if (key == "max_downloads") {
            r.maxDownloads = smallCount(value, 100000);
            if (!r.maxDownloads) return std::string("max_downloads must be a whole number, at least 1");
        } else {
            return "unknown field: " + (printableText(key) && key.size() <= 64 ? key : std::string("(unprintable)"));
        }
    }
    if (r.studyUids.empty()) return std::string("study_uid (or study_uids) is required");
    if (r.studyUids.size() > kMaxStudiesPerLink)
        return "at most " + std::to_string(kMaxStudiesPerLink) + " studies per link";
    for (const auto& u : r.studyUids)
        if (!ingest::isValidUid(u)) return std::string("a study UID is not a valid DICOM UID");
    if (r.recipient.size() > kMaxRecipientBytes || !printableText(r.recipient))
        return "recipient must be printable UTF-8 text of at most " + std::to_string(kMaxRecipientBytes) + " bytes";
    return r;
}

struct LinkService::Impl {
    Impl(state::State& st, const core::ModeGate& g, const policy::Settings& p, const core::Clock& c, LinkHooks h,
         LinkServiceSettings s)
        : state(st), gate(g), policy(p), clock(c), hooks(std::move(h)), settings(std::move(s)),
          limiter(p.failedTokenThreshold, p.failedTokenWindow), csp(contentSecurityPolicy()) {}

    state::State& state;
    const core::ModeGate& gate;
    const policy::Settings& policy;
    const core::Clock& clock;
    LinkHooks hooks;
    LinkServiceSettings settings;

    std::mutex limiterMutex;
    policy::FailedTokenMeter limiter;  // refuses look-ups from an address that keeps guessing
    std::string csp;

    std::mutex connectionsMutex;
    std::map<std::thread::id, std::unique_ptr<state::Connection>> connections;

    state::Connection& connection() {
        std::lock_guard lock(connectionsMutex);
        auto& c = connections[std::this_thread::get_id()];
        if (!c) c = state.connect(clock);
        return *c;
    }

    std::int64_t nowMs() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch()).count();
    }

    HttpResponse suspended() const;
    HttpResponse notFound() const;
    HttpResponse gone(state::LinkState why) const;
    HttpResponse tooManyGuesses() const;

    bool guessingFrom(const std::string& client);
    void failedLookup(const std::string& client);

    HttpResponse landing(const HttpRequest& req, std::string_view token);
    HttpResponse download(const HttpRequest& req, std::string_view token);
    HttpResponse api(const HttpRequest& req, std::string_view path, LinkService& self);

    // Finds the link behind a token for /s/...; on any refusal, fills `refusal`.
    std::optional<state::LinkRecord> resolve(const HttpRequest& req, std::string_view token, const char* use,
                                             HttpResponse& refusal);
};

HttpResponse LinkService::Impl::suspended() const {
    return page(503, "Online image sharing is suspended",
                "<p>The hospital has suspended online access to images for the time being. "
                "Your link has not been looked at and nothing about your images has been sent.</p>"
                "<p>Images remain available on a new, sealed USB key prepared by the hospital: please contact "
                "the radiology department that sent you this link.</p>"
                "<p class=\"note\">You can try this link again later.</p>",
                csp);
}

HttpResponse LinkService::Impl::notFound() const {
    return page(404, "Link not found",
                "<p>This address does not lead to any images. Please check that the whole link was copied, "
                "or ask the radiology department that sent it.</p>",
                csp);
}

HttpResponse LinkService::Impl::gone(state::LinkState why) const {
    std::string reason;
    switch (why) {
        case state::LinkState::expired: reason = "This link has expired."; break;
        case state::LinkState::revoked: reason = "This link has been withdrawn by the hospital."; break;
        case state::LinkState::exhausted: reason = "This link has been used as many times as it allows."; break;
        case state::LinkState::live: reason = "These images are no longer available through this link."; break;
    }
    return page(410, "This link can no longer be used",
                "<p>" + htmlEscape(reason) +
                    "</p><p>To see the images, please ask the radiology department (or the physician) who sent "
                    "you the link for a new one.</p>",
                csp);
}

HttpResponse LinkService::Impl::tooManyGuesses() const {
    HttpResponse r = page(429, "Too many attempts",
                          "<p>Too many unknown links were tried from your network address. Please wait a few "
                          "minutes and try again with the complete link.</p>",
                          csp);
    r.set("Retry-After", std::to_string(policy.failedTokenWindow.count()));
    return r;
}

bool LinkService::Impl::guessingFrom(const std::string& client) {
    std::lock_guard lock(limiterMutex);
    return limiter.failures(client, clock.now()) >= policy.failedTokenThreshold;
}

void LinkService::Impl::failedLookup(const std::string& client) {
    {
        std::lock_guard lock(limiterMutex);
        (void)limiter.record(client, clock.now());
    }
    if (hooks.failedTokenLookup) hooks.failedTokenLookup(client, clock.now());
}

std::optional<state::LinkRecord> LinkService::Impl::resolve(const HttpRequest& req, std::string_view token,
                                                             const char* use, HttpResponse& refusal) {
    if (guessingFrom(req.remoteAddress)) {
        refusal = tooManyGuesses();
        return std::nullopt;
    }
    if (!core::isWellFormedToken(token)) {
        failedLookup(req.remoteAddress);
        refusal = notFound();
        return std::nullopt;
    }
    auto& conn = connection();
    auto link = state::LinkStore(conn.db).byToken(token);
    if (!link) {
        failedLookup(req.remoteAddress);
        conn.audit.append(state::Actor{std::nullopt, std::nullopt, "anonymous"}, use, "-", state::Outcome::refused,
                          {{"remote", req.remoteAddress}, {"reason", "unknown token"}});
        refusal = notFound();
        return std::nullopt;
    }
    const auto linkState = link->stateAt(nowMs());
    policy::Context ctx;
    ctx.now = clock.now();
    ctx.linkValid = linkState == state::LinkState::live;
    const auto d = policy::decide(gate.current(), policy::Action::serve_link, ctx, policy);
    if (!d.allowed()) {
        conn.audit.append(state::Actor{std::nullopt, std::nullopt, "anonymous"}, use, link->id,
                          state::Outcome::refused,
                          {{"remote", req.remoteAddress}, {"rule", d.rule}, {"link_state", toString(linkState)}});
        refusal = gate.online() ? gone(linkState) : suspended();
        return std::nullopt;
    }
    return link;
}

HttpResponse LinkService::Impl::landing(const HttpRequest& req, std::string_view token) {
    HttpResponse refusal;
    auto link = resolve(req, token, "link.view", refusal);
    if (!link) return refusal;
    auto& conn = connection();
    std::vector<state::StudyDetail> studies;
    for (const auto& uid : link->studyUids) {
        auto d = conn.catalogue.study(uid);
        if (!d) {
            conn.audit.append(state::Actor{std::nullopt, std::nullopt, "anonymous"}, "link.view", link->id,
                              state::Outcome::failure, {{"remote", req.remoteAddress}, {"reason", "study missing"}});
            return gone(state::LinkState::live);
        }
        studies.push_back(std::move(*d));
    }
    conn.audit.append(state::Actor{std::nullopt, std::nullopt, "anonymous"}, "link.view", link->id,
                      state::Outcome::success, {{"remote", req.remoteAddress}, {"studies", link->studyUids}});

    std::int64_t totalBytes = 0, totalImages = 0;
    std::string html;
    for (const auto& d : studies) {
        const auto& s = d.study;
        totalBytes += s.bytes;
        totalImages += s.instances;
        html += "<h2>" + htmlEscape(s.description.empty() ? std::string("Imaging study") : s.description) + "</h2>\n";
        html += "<table><tr><th>Patient</th><td>" + htmlEscape(displayName(s.patientName)) + "</td></tr>";
        html += "<tr><th>Date of birth</th><td>" + htmlEscape(displayDate(s.birthDate)) + "</td></tr>";
        html += "<tr><th>Study date</th><td>" + htmlEscape(displayDate(s.studyDate)) + "</td></tr>";
        if (!s.accessionNumber.empty())
            html += "<tr><th>Accession number</th><td>" + htmlEscape(s.accessionNumber) + "</td></tr>";
        html += "</table>\n<table><tr><th>Series</th><th>Modality</th><th>Images</th></tr>";
        for (const auto& se : d.series) {
            html += "<tr><td>" + htmlEscape(se.description.empty() ? std::string("(no description)") : se.description) +
                    "</td><td>" + htmlEscape(se.modality) + "</td><td>" + std::to_string(se.instances) + "</td></tr>";
        }
        html += "</table>\n";
    }
    const std::string expires = core::formatUtc(core::SystemTime(std::chrono::milliseconds(link->expiresMs)));
    html += "<p>" + std::to_string(totalImages) + " images, " + displayBytes(totalBytes) +
            ". This link can be used until " + htmlEscape(expires) + " (UTC), " +
            std::to_string(link->maxDownloads - link->downloads) + " more download" +
            (link->maxDownloads - link->downloads == 1 ? "" : "s") + ".</p>";
    html += "<a class=\"button\" href=\"/s/" + htmlEscape(token) + "/download\">Download the images (ZIP, DICOM)</a>";
    html += "<p class=\"note\">The ZIP file contains the images in DICOM format with a DICOMDIR index; open it "
            "with a DICOM viewer. Do not forward this link: anyone who has it can download the images.</p>";
    return page(200, "Medical images", html, csp);
}

HttpResponse LinkService::Impl::download(const HttpRequest& req, std::string_view token) {
    HttpResponse refusal;
    auto link = resolve(req, token, "link.download", refusal);
    if (!link) return refusal;
    auto& conn = connection();
    const state::Actor anonymous{std::nullopt, std::nullopt, "anonymous"};

    std::vector<media::PlacedInstance> files;
    std::string dicomdir;
    try {
        files = media::planFileSet(conn.catalogue, link->studyUids);
        for (auto& f : files) crcOf(conn.catalogue, state.blobs(), f.instance);
        const auto dd = media::buildDicomDir(state.blobs(), files, fileSetIdFor(link->id), settings.scratchDir);
        dicomdir.assign(dd.begin(), dd.end());
    } catch (const std::exception& e) {
        core::log::error("link " + link->id + ": cannot prepare the download: " + e.what());
        conn.audit.append(anonymous, "link.download", link->id, state::Outcome::failure,
                          {{"remote", req.remoteAddress}, {"reason", e.what()}});
        HttpResponse r = page(500, "The images cannot be prepared",
                              "<p>Something went wrong on the hospital's side. Please try again later or contact "
                              "the radiology department.</p>",
                              csp);
        return r;
    }

    // The download is counted (and the link may become exhausted) before any byte leaves.
    auto counted = state::LinkStore(conn.db).countDownload(link->id, nowMs());
    if (!counted) {
        conn.audit.append(anonymous, "link.download", link->id, state::Outcome::refused,
                          {{"remote", req.remoteAddress}, {"reason", "no download left"}});
        return gone(state::LinkState::exhausted);
    }

    std::set<std::string> modalities;
    std::set<std::string> series;
    for (const auto& f : files) series.insert(f.instance.seriesUid);
    media::ReadmeFacts facts;
    facts.producer = "sealport appliance at " + settings.publicUrl;
    facts.version = settings.version;
    facts.createdUtc = core::formatUtc(clock.now());
    facts.origin = "link download";
    facts.studies = link->studyUids.size();
    facts.series = series.size();
    facts.images = files.size();
    for (const auto& uid : link->studyUids)
        if (auto d = conn.catalogue.study(uid))
            for (const auto& m : d->study.modalities) modalities.insert(m);
    facts.modalities.assign(modalities.begin(), modalities.end());
    facts.signedManifest = false;
    auto readme = std::make_shared<const std::string>(media::readmeText(facts));
    auto dir = std::make_shared<const std::string>(std::move(dicomdir));

    std::vector<ZipEntry> entries;
    entries.push_back({"DICOMDIR", dir->size(), crcOf(*dir)});
    entries.push_back({"README.TXT", readme->size(), crcOf(*readme)});
    std::vector<std::string> blobIds;
    for (const auto& f : files) {
        entries.push_back({f.path, f.instance.size, *f.instance.crc32});
        blobIds.push_back(f.instance.blobId);
    }
    const state::BlobStore& blobs = state.blobs();
    auto zip = std::make_unique<ZipStream>(
        std::move(entries),
        [dir, readme, blobIds = std::move(blobIds), &blobs](std::size_t i) -> std::unique_ptr<EntrySource> {
            if (i == 0) return std::make_unique<MemorySource>(dir);
            if (i == 1) return std::make_unique<MemorySource>(readme);
            return std::make_unique<BlobSource>(blobs, blobIds.at(i - 2));
        },
        DosDateTime::fromUnix(std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count()));
    const std::uint64_t length = zip->size();

    conn.audit.append(anonymous, "link.download", link->id, state::Outcome::success,
                      {{"remote", req.remoteAddress},
                       {"studies", link->studyUids},
                       {"files", files.size()},
                       {"bytes", length},
                       {"downloads", counted->downloads},
                       {"max_downloads", counted->maxDownloads}});

    HttpResponse r;
    r.status = 200;
    r.set("Content-Type", "application/zip");
    r.set("Content-Disposition", "attachment; filename=\"images-" + link->id.substr(link->id.find('_') + 1) + ".zip\"");
    r.stream = std::make_shared<ZipBody>(std::move(zip), link->id);
    r.streamLength = length;
    return r;
}

namespace {

std::optional<std::string_view> bearer(const HttpRequest& req) {
    auto h = req.header("Authorization");
    if (!h) return std::nullopt;
    constexpr std::string_view kScheme = "Bearer ";
    if (h->size() <= kScheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < kScheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>((*h)[i])) != std::tolower(static_cast<unsigned char>(kScheme[i])))
            return std::nullopt;
    return h->substr(kScheme.size());
}

HttpResponse unauthorized(const std::string& error) {
    HttpResponse r = jsonResponse(401, {{"error", error}});
    r.set("WWW-Authenticate", "Bearer realm=\"sealport\"");
    return r;
}

}  // namespace

HttpResponse LinkService::Impl::api(const HttpRequest& req, std::string_view path, LinkService& self) {
    // Authentication first, in every mode: an unauthenticated client learns nothing.
    if (guessingFrom(req.remoteAddress)) {
        HttpResponse r = jsonResponse(429, {{"error", "too_many_attempts"}});
        r.set("Retry-After", std::to_string(policy.failedTokenWindow.count()));
        return r;
    }
    const auto secret = bearer(req);
    if (!secret) return unauthorized("missing_api_key");
    if (!core::isWellFormedToken(*secret)) {
        failedLookup(req.remoteAddress);
        return unauthorized("invalid_api_key");
    }
    auto& conn = connection();
    state::ApiKeyStore keys(conn.db);
    const auto key = keys.bySecret(*secret);
    if (!key) {
        failedLookup(req.remoteAddress);
        conn.audit.append(state::Actor{std::nullopt, std::nullopt, "anonymous"}, "api.auth", "-",
                          state::Outcome::refused, {{"remote", req.remoteAddress}, {"reason", "unknown API key"}});
        return unauthorized("invalid_api_key");
    }
    const state::Actor actor{std::nullopt, std::nullopt, key->role};
    if (key->revokedAt) {
        conn.audit.append(actor, "api.auth", key->id, state::Outcome::refused,
                          {{"remote", req.remoteAddress}, {"reason", "revoked API key"}});
        return unauthorized("revoked_api_key");
    }
    const auto role = policy::parseRole(key->role);
    policy::RoleSet roles;
    if (role) roles.add(*role);
    keys.markUsed(key->id, core::formatUtc(clock.now()));

    if (path == "/api/v1/links") {
        if (req.method != "POST") return jsonResponse(405, {{"error", "method_not_allowed"}}).set("Allow", "POST");
        if (!policy::rolesFor(policy::Action::issue_link).intersects(roles)) {
            conn.audit.append(actor, "link.create", key->id, state::Outcome::refused,
                              {{"remote", req.remoteAddress}, {"rule", "role.required"}});
            return jsonResponse(403, {{"error", "forbidden"}, {"detail", "this API key may not create links"}});
        }
        auto parsed = parseLinkRequest(req.body);
        if (auto* why = std::get_if<std::string>(&parsed)) return jsonResponse(400, {{"error", "bad_request"}, {"detail", *why}});
        const auto& lr = std::get<LinkRequest>(parsed);
        if (!gate.online()) {
            // A request that could never be issued is refused now, not kept.
            for (const auto& uid : lr.studyUids)
                if (!conn.catalogue.study(uid))
                    return jsonResponse(404, {{"error", "unknown_study"}, {"detail", "no study with UID " + uid + " is held here"}});
            // Kept, not lost: the recovery issues it after the incident.
            json kept{{"study_uids", lr.studyUids}, {"recipient", lr.recipient}};
            if (lr.ttlDays) kept["ttl_days"] = *lr.ttlDays;
            if (lr.maxDownloads) kept["max_downloads"] = *lr.maxDownloads;
            std::string id;
            {
                state::Database::Transaction tx(conn.db);
                id = state::DeferredQueue(conn.db).add(key->id, core::formatUtc(clock.now()), kept.dump());
                conn.audit.append(actor, "link.deferred", id, state::Outcome::success,
                                  {{"remote", req.remoteAddress}, {"api_key", key->id}, {"studies", lr.studyUids}});
                tx.commit();
            }
            HttpResponse r = jsonResponse(503, {{"error", "incident_mode"}, {"deferred", true}, {"request_id", id}});
            r.set("Retry-After", "3600");
            return r;
        }
        auto issued = self.issue(StateAccess{conn.db, conn.audit, conn.catalogue}, lr, actor, roles, std::nullopt,
                                 "apikey:" + key->id, req.remoteAddress);
        if (auto* no = std::get_if<LinkRefusal>(&issued)) {
            const int status = no->kind == LinkRefusal::Kind::invalid        ? 400
                               : no->kind == LinkRefusal::Kind::unknown_study ? 404
                                                                              : 403;
            json body{{"error", no->kind == LinkRefusal::Kind::unknown_study ? "unknown_study" : "refused"},
                      {"detail", no->message}};
            if (!no->rule.empty()) body["rule"] = no->rule;
            return jsonResponse(status, body);
        }
        const auto& il = std::get<IssuedLink>(issued);
        return jsonResponse(201, {{"id", il.link.id}, {"url", il.url}, {"expires_at", il.expiresAt}});
    }

    constexpr std::string_view kDeferred = "/api/v1/links/deferred/";
    if (path.substr(0, kDeferred.size()) == kDeferred) {
        if (req.method != "GET") return jsonResponse(405, {{"error", "method_not_allowed"}}).set("Allow", "GET");
        const std::string id(path.substr(kDeferred.size()));
        const auto d = state::DeferredQueue(conn.db).get(id);
        // Another key's request is as unknown as a request that does not exist.
        if (!d || d->apiKeyId != key->id) return jsonResponse(404, {{"error", "unknown_request"}});
        json body{{"request_id", d->id}, {"status", d->status}, {"received_at", d->receivedAt}};
        if (d->linkId) body["link_id"] = *d->linkId;
        if (!d->detail.empty()) body["detail"] = d->detail;
        return jsonResponse(200, body);
    }

    constexpr std::string_view kLink = "/api/v1/links/";
    if (path.substr(0, kLink.size()) == kLink) {
        if (req.method != "DELETE") return jsonResponse(405, {{"error", "method_not_allowed"}}).set("Allow", "DELETE");
        const std::string id(path.substr(kLink.size()));
        if (!roles.has(policy::Role::operator_)) {
            conn.audit.append(actor, "link.revoke", id, state::Outcome::refused,
                              {{"remote", req.remoteAddress}, {"rule", "role.required"}, {"api_key", key->id}});
            return jsonResponse(403, {{"error", "forbidden"}, {"detail", "this API key may not revoke links"}});
        }
        state::Database::Transaction tx(conn.db);
        const bool revoked = state::LinkStore(conn.db).revoke(id, nowMs(), "revoked through the API");
        conn.audit.append(actor, "link.revoke", id, revoked ? state::Outcome::success : state::Outcome::refused,
                          {{"remote", req.remoteAddress}, {"api_key", key->id}});
        tx.commit();
        if (!revoked) return jsonResponse(404, {{"error", "unknown_link"}});
        return jsonResponse(200, {{"id", id}, {"revoked", true}});
    }
    return jsonResponse(404, {{"error", "not_found"}});
}

LinkService::LinkService(state::State& state, const core::ModeGate& gate, const policy::Settings& policy,
                         const core::Clock& clock, LinkHooks hooks, LinkServiceSettings settings)
    : impl_(std::make_unique<Impl>(state, gate, policy, clock, std::move(hooks), std::move(settings))) {
    while (!impl_->settings.publicUrl.empty() && impl_->settings.publicUrl.back() == '/')
        impl_->settings.publicUrl.pop_back();
}

LinkService::~LinkService() = default;

const std::string& LinkService::publicUrl() const noexcept { return impl_->settings.publicUrl; }

HttpResponse LinkService::handle(const HttpRequest& req) {
    HttpResponse r;
    try {
        std::string_view path = req.target;
        path = path.substr(0, path.find('?'));
        constexpr std::string_view kShare = "/s/";
        constexpr std::string_view kApi = "/api/";
        if (path.substr(0, kShare.size()) == kShare) {
            // Incident mode: answered from the gate alone, before anything is looked up.
            if (!impl_->gate.online()) {
                r = impl_->suspended();
            } else if (req.method != "GET" && req.method != "HEAD") {
                r = page(405, "Not allowed", "<p>This address only serves pages.</p>", impl_->csp);
                r.set("Allow", "GET, HEAD");
            } else {
                std::string_view rest = path.substr(kShare.size());
                constexpr std::string_view kDownload = "/download";
                if (rest.size() > kDownload.size() && rest.substr(rest.size() - kDownload.size()) == kDownload) {
                    if (req.method == "HEAD") {
                        // A HEAD would have to count a download to know the length.
                        r = page(405, "Not allowed", "<p>Use the download button.</p>", impl_->csp);
                        r.set("Allow", "GET");
                    } else {
                        r = impl_->download(req, rest.substr(0, rest.size() - kDownload.size()));
                    }
                } else {
                    r = impl_->landing(req, rest);
                }
            }
        } else if (path.substr(0, kApi.size()) == kApi) {
            r = impl_->api(req, path, *this);
        } else if (path == "/" || path == "/favicon.ico" || path == "/robots.txt") {
            if (path == "/robots.txt") {
                r.status = 200;
                r.body = "User-agent: *\nDisallow: /\n";
                r.set("Content-Type", "text/plain; charset=utf-8");
            } else {
                r = impl_->notFound();
            }
        } else {
            r = impl_->notFound();
        }
    } catch (const std::exception& e) {
        core::log::error(std::string("links: a request failed: ") + e.what());
        r = page(500, "Something went wrong",
                 "<p>The request could not be completed. Please try again later.</p>", impl_->csp);
        r.close = true;
    }
    addSecurityHeaders(r);
    return r;
}

std::variant<IssuedLink, LinkRefusal> LinkService::issue(StateAccess access, const LinkRequest& request,
                                                          const state::Actor& actor, policy::RoleSet roles,
                                                          std::optional<std::uint32_t> callerUid,
                                                          const std::string& createdBy, const std::string& remote) {
    const auto refuse = [&](LinkRefusal::Kind kind, const std::string& message, const std::string& rule) {
        access.audit.append(actor, "link.create", "-", state::Outcome::refused,
                            {{"remote", remote}, {"created_by", createdBy}, {"reason", message}, {"rule", rule},
                             {"studies", request.studyUids}});
        return LinkRefusal{kind, message, rule};
    };
    if (request.studyUids.empty() || request.studyUids.size() > kMaxStudiesPerLink)
        return refuse(LinkRefusal::Kind::invalid, "a link names 1 to 32 studies", "");
    for (const auto& uid : request.studyUids)
        if (!ingest::isValidUid(uid)) return refuse(LinkRefusal::Kind::invalid, "a study UID is not a valid DICOM UID", "");
    if (request.recipient.size() > kMaxRecipientBytes || !printableText(request.recipient))
        return refuse(LinkRefusal::Kind::invalid, "the recipient must be printable text of at most 256 bytes", "");

    policy::Context ctx;
    ctx.now = impl_->clock.now();
    ctx.callerUid = callerUid;
    ctx.roles = roles;
    ctx.ttlDays = request.ttlDays;
    ctx.maxDownloads = request.maxDownloads;
    const auto d = policy::decide(impl_->gate.current(), policy::Action::issue_link, ctx, impl_->policy);
    if (!d.allowed())
        return refuse(LinkRefusal::Kind::policy, d.reasons.empty() ? d.rule : d.reasons.front(), d.rule);

    for (const auto& uid : request.studyUids)
        if (!access.catalogue.study(uid))
            return refuse(LinkRefusal::Kind::unknown_study, "no study with UID " + uid + " is held here", "");

    // CRC-32s now, so that the first download does not wait for them.
    for (const auto& uid : request.studyUids)
        for (auto& inst : access.catalogue.instancesOf(uid)) crcOf(access.catalogue, impl_->state.blobs(), inst);

    const std::uint32_t ttlDays = request.ttlDays.value_or(impl_->policy.linkTtlDaysDefault);
    const std::uint32_t maxDownloads = request.maxDownloads.value_or(impl_->policy.maxDownloadsDefault);
    const std::int64_t now = impl_->nowMs();
    const std::int64_t expires = now + static_cast<std::int64_t>(ttlDays) * 24 * 3600 * 1000;

    state::Database::Transaction tx(access.db);
    auto created = state::LinkStore(access.db)
                       .create(request.studyUids, request.recipient, createdBy, now, expires, maxDownloads);
    IssuedLink out;
    out.expiresAt = core::formatUtc(core::SystemTime(std::chrono::milliseconds(expires)));
    access.audit.append(actor, "link.create", created.link.id, state::Outcome::success,
                        {{"remote", remote},
                         {"created_by", createdBy},
                         {"studies", request.studyUids},
                         {"recipient", request.recipient},
                         {"expires_at", out.expiresAt},
                         {"max_downloads", maxDownloads}});
    tx.commit();
    out.link = std::move(created.link);
    out.url = impl_->settings.publicUrl + "/s/" + created.token;
    return out;
}

}  // namespace sealport::links
